/**
 * JSON-RPC 2.0 with jayson. We use jayson for the protocol (envelopes,
 * batches, notifications, protocol errors) and own the HTTP layer ourselves
 * (src/http), since jayson's HTTP server has no body limit and no context.
 * A router, not server.method(), serves the table, so names such as
 * `rpc.discover` are possible and the table stays the only list of methods.
 */
import jayson from 'jayson';
import { performance } from 'node:perf_hooks';
import { ERRORS } from '../errors.js';
import { callLog } from './call-log.js';
import type { Dispatcher } from './dispatch.js';
import type { CallContext } from './spec.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';

/** The specification's own words (-32700..-32600, as ERRORS has them), not jayson's variants. */
const SPEC_MESSAGES: Record<number, string> = Object.fromEntries(
  Object.values(ERRORS)
    .filter(({ rpc }) => rpc >= -32700 && rpc <= -32600)
    .map(({ rpc, message }) => [rpc, message]),
);

export type JsonRpcServer = jayson.Server;

export function createJsonRpcServer(dispatcher: Dispatcher, metrics: Metrics, log: Logger): JsonRpcServer {
  const methods = new Map<string, jayson.Method>();
  for (const spec of dispatcher.methods) {
    const { name } = spec;
    const calls = callLog(spec, metrics, log);
    const handler = (params: unknown, ctx: CallContext, done: (err: unknown, result?: unknown) => void) => {
      const started = performance.now();
      dispatcher.invoke(name, params, ctx).then(
        (result) => {
          calls.ok(ctx, started);
          done(null, result);
        },
        (err: unknown) => done(calls.failed(ctx, err, started).toRpc()),
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
