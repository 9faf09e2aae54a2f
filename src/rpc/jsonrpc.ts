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
import type { Logger } from '../log.js';

/** The specification's own words, not jayson's variants. */
const SPEC_MESSAGES: Record<number, string> = {
  [-32700]: 'Parse error',
  [-32600]: 'Invalid Request',
  [-32601]: 'Method not found',
  [-32602]: 'Invalid params',
  [-32603]: 'Internal error',
};

export type JsonRpcServer = jayson.Server;

export function createJsonRpcServer(dispatcher: Dispatcher, metrics: Metrics, log: Logger): JsonRpcServer {
  // One line and two metrics per call, from the base logger: no per-call child logger.
  const methods = new Map<string, jayson.Method>();
  for (const { name, readOnly } of dispatcher.methods) {
    // Reads that succeed are counted in metrics and logged at debug: a busy
    // verifier would otherwise write a line per request. Changes and failures at info.
    const logOk = readOnly ? log.debug.bind(log) : log.info.bind(log);
    const logsOk = log.isLevelEnabled(readOnly ? 'debug' : 'info');
    const okCount = metrics.callCounter(name, 'ok');
    const record = (ctx: CallContext, outcome: string, ms: number, err?: unknown) => {
      if (outcome === 'ok') {
        okCount.inc();
        if (logsOk) logOk({ req_id: ctx.requestId, user: ctx.caller.user, method: name, outcome, ms }, 'call');
        return;
      }
      metrics.callCounter(name, outcome).inc();
      const line = { req_id: ctx.requestId, user: ctx.caller.user, method: name, outcome, ms };
      if (err === undefined) log.info(line, 'call');
      else log.error({ ...line, err }, 'call failed');
    };
    const handler = (params: unknown, ctx: CallContext, done: (err: unknown, result?: unknown) => void) => {
      const started = performance.now();
      dispatcher.invoke(name, params, ctx).then(
        (result) => {
          record(ctx, 'ok', elapsed(started));
          done(null, result);
        },
        (err: unknown) => {
          const appErr = toAppError(err);
          const unexpected = appErr.kind === 'internal' || appErr.kind === 'storage_unavailable';
          record(ctx, appErr.kind, elapsed(started), unexpected ? err : undefined);
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
