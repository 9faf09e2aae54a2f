/**
 * Two places where jayson departs from JSON-RPC 2.0, mended before and after
 * it runs, so the HTTP door hands it only what it handles right:
 *
 * - A batch element that is not an object (`[[]]`, `[1]`) must get its own
 *   -32600 reply; jayson skips array elements, and a batch of only those
 *   never answered at all.
 * - A request with `"id": null` is a request, not a notification (only a
 *   missing id makes one); jayson stays silent for it.
 */
import type jayson from 'jayson';
import { AppError } from '../errors.js';

// Stands in for a null id while jayson runs; no client can send it, since it holds a NUL.
const NULL_ID = '\u0000null-id';

type Request = jayson.JSONRPCRequestLike;

export interface Prepared {
  /** What to give jayson, or undefined when nothing is left for it. */
  payload: Request | Request[] | undefined;
  /** jayson's reply (undefined for notifications) -> the reply to send (undefined: 204). */
  finish(reply: unknown): unknown;
}

/** The JSON-RPC error reply, for errors raised outside jayson. */
export function rpcError(id: string | number | null, err: AppError) {
  return { jsonrpc: '2.0', id, error: err.toRpc() };
}

const INVALID = rpcError(null, new AppError('invalid_request'));

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function withNullId(r: Record<string, unknown>): Request {
  return (r.id === null ? { ...r, id: NULL_ID } : r) as unknown as Request;
}

const same = (reply: unknown) => reply;

function restoreId(response: unknown): unknown {
  if (isObject(response) && response.id === NULL_ID) response.id = null;
  return response;
}

/** `request` is a parsed JSON object or array (anything else is refused before). */
export function prepare(request: object): Prepared {
  if (!Array.isArray(request)) {
    const single = request as Record<string, unknown>;
    return single.id === null ? { payload: withNullId(single), finish: restoreId } : { payload: single as unknown as Request, finish: same };
  }
  if (request.length === 0) return { payload: request, finish: same }; // jayson answers -32600
  const valid = request.filter(isObject).map(withNullId);
  const invalid = request.length - valid.length;
  return {
    payload: valid.length > 0 ? valid : undefined,
    finish(reply) {
      const replies = Array.isArray(reply) ? reply.map(restoreId) : reply === undefined ? [] : [restoreId(reply)];
      for (let i = 0; i < invalid; i++) replies.push({ ...INVALID, error: { ...INVALID.error } });
      return replies.length > 0 ? replies : undefined;
    },
  };
}
