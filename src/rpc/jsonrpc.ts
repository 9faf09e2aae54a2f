/**
 * JSON-RPC 2.0 with jayson. We use jayson for the protocol of each request
 * (validation, routing, notifications, protocol errors) and own the HTTP
 * layer ourselves (src/http), since jayson's HTTP server has no body limit
 * and no context. Batches are walked by envelope.ts, one request at a time
 * through jayson, so they run in order and within a budget.
 * A router, not server.method(), serves the table, so names such as
 * `rpc.discover` are possible and the table stays the only list of methods.
 */
import jayson from 'jayson';
import { performance } from 'node:perf_hooks';
import { ERRORS, type ErrorKind } from '../errors.js';
import { callLog, type CallLog } from './call-log.js';
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

export interface JsonRpcServer {
  /** jayson, handed one request object at a time, never a batch. */
  readonly jayson: jayson.Server;
  /** The rows a request asks for (see Dispatcher.pageRows). */
  rows(request: Record<string, unknown>): number;
  /** A call of a batch the door did not run (past the batch's budget): counted like the others (see CallLog.skipped). */
  skipped(request: Record<string, unknown>, kind: ErrorKind): void;
}

export function createJsonRpcServer(dispatcher: Dispatcher, metrics: Metrics, log: Logger): JsonRpcServer {
  const methods = new Map<string, jayson.Method>();
  const logs = new Map<string, CallLog>();
  for (const spec of dispatcher.methods) {
    const { name } = spec;
    const calls = callLog(spec, metrics, log);
    logs.set(name, calls);
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
  return {
    jayson: server,
    rows: (request) => dispatcher.pageRows(request.method, request.params),
    // Only the table's names: a made-up method name must not become a metrics label.
    skipped: (request, kind) => {
      if (typeof request.method === 'string') logs.get(request.method)?.skipped(kind);
    },
  };
}
