/**
 * The JSON-RPC door (POST /rpc and /): a request the pipeline let through,
 * handed to jayson one request at a time by envelope.ts, which runs a batch
 * in order and within its budget and writes the replies.
 */
import { AppError, statusOf } from '../../errors.js';
import { callBatch, callSingle, refusalText, rpcError, type Budget } from '../../rpc/envelope.js';
import type { JsonRpcServer } from '../../rpc/jsonrpc.js';
import { JsonText, type Door, type Exchange } from '../exchange.js';

export interface JsonRpcLimits extends Budget {
  /** The most requests a batch may hold (MAX_BATCH). */
  maxBatch: number;
}

export function jsonRpcDoor(jsonrpc: JsonRpcServer, limits: JsonRpcLimits): Door {
  const { maxBatch } = limits;
  return {
    name: 'jsonrpc',
    readsBody: true,
    status: (err) => statusOf(err.kind),
    // Once the body is parsed, a refusal echoes its ids: a batch gets one error per call that would have had a reply.
    errorBody(x: Exchange, err: AppError) {
      if (x.parsed === undefined) return rpcError(null, err);
      const text = refusalText(x.parsed, err, maxBatch);
      return text === undefined ? undefined : new JsonText(text);
    },
    async serve(x: Exchange) {
      const { ok, request, exactIds } = x.parsed!;
      if (!ok) return x.json(200, rpcError(null, new AppError('parse_error')));
      // jayson would re-parse a JSON string as a request; the spec calls any non-object invalid.
      if (request === null || typeof request !== 'object') return x.json(200, rpcError(null, new AppError('invalid_request')));
      if (!Array.isArray(request)) {
        // No reply means a notification.
        return callSingle(jsonrpc, request as Record<string, unknown>, x.ctx, exactIds?.[0], limits.maxResponseBytes, (text, bytes) =>
          text === undefined ? x.empty(204) : x.text(200, text, bytes),
        );
      }
      if (request.length > maxBatch) {
        return x.json(200, rpcError(null, new AppError('invalid_request', 'Invalid Request', { max_batch: maxBatch })));
      }
      if (request.length === 0) return x.json(200, rpcError(null, new AppError('invalid_request')));
      const batch = await callBatch(jsonrpc, request, x.ctx, exactIds, limits);
      // No reply means the batch held only notifications.
      if (batch === undefined) x.empty(204);
      else x.text(200, batch.text, batch.bytes);
    },
  };
}
