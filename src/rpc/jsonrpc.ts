/**
 * JSON-RPC 2.0 with jayson. We use jayson for the protocol (envelopes,
 * batches, notifications, protocol errors) and own the HTTP layer ourselves
 * (src/http), since jayson's HTTP server has no body limit and no context.
 * A router, not server.method(), serves the table, so names such as
 * `rpc.discover` are possible and the table stays the only list of methods.
 */
import jayson from 'jayson';
import { performance } from 'node:perf_hooks';
import { toAppError } from '../errors.js';
import type { Dispatcher } from './dispatch.js';
import type { CallContext } from './spec.js';
import type { Metrics } from '../metrics.js';

/** The specification's own words, not jayson's variants. */
const SPEC_MESSAGES: Record<number, string> = {
  [-32700]: 'Parse error',
  [-32600]: 'Invalid Request',
  [-32601]: 'Method not found',
  [-32602]: 'Invalid params',
  [-32603]: 'Internal error',
};

export type JsonRpcServer = jayson.Server;

export function createJsonRpcServer(dispatcher: Dispatcher, metrics: Metrics): JsonRpcServer {
  const record = (method: string, outcome: string, ms: number) => {
    metrics.calls.inc({ method, outcome });
    metrics.callSeconds.observe({ method }, ms / 1000);
  };
  const methods = new Map<string, jayson.Method>();
  for (const { name } of dispatcher.methods) {
    const handler = (params: unknown, ctx: CallContext, done: (err: unknown, result?: unknown) => void) => {
      const started = performance.now();
      dispatcher.invoke(name, params, ctx).then(
        (result) => {
          const ms = elapsed(started);
          record(name, 'ok', ms);
          ctx.log.info({ method: name, outcome: 'ok', ms }, 'call');
          done(null, result);
        },
        (err: unknown) => {
          const appErr = toAppError(err);
          const ms = elapsed(started);
          record(name, appErr.kind, ms);
          if (appErr.kind === 'internal' || appErr.kind === 'storage_unavailable') {
            ctx.log.error({ method: name, outcome: appErr.kind, ms, err }, 'call failed');
          } else {
            ctx.log.info({ method: name, outcome: appErr.kind, ms }, 'call');
          }
          done(appErr.toRpc());
        },
      );
    };
    methods.set(name, new jayson.Method(handler as jayson.MethodHandlerContext, { useContext: true }));
  }
  const server = new jayson.Server(
    {},
    { useContext: true, router: (name: string) => methods.get(name) as jayson.Method },
  );
  Object.assign(server.errorMessages, SPEC_MESSAGES);
  return server;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
