/**
 * JSON-RPC 2.0 with jayson. We use jayson for the protocol of each request
 * (validation, routing, notifications, protocol errors) and own the HTTP
 * layer ourselves (src/http), since jayson's HTTP server has no body limit
 * and no context. Batches are walked by envelope.ts, one request at a time
 * through jayson, so they run in order and within a budget.
 * A router, not server.method(), serves the table, so names such as
 * `rpc.discover` are possible and the table stays the only list of methods.
 * Each call is counted and logged by the dispatcher.
 */
import jayson from 'jayson';
import { ERRORS, type AppError, type ErrorKind } from '../errors.js';
import type { Dispatcher } from './dispatch.js';
import type { CallContext } from './spec.js';

/** The specification's own words (as ERRORS has them), not jayson's variants. */
const SPEC_KINDS = ['parse_error', 'invalid_request', 'method_not_found', 'invalid_params', 'internal'] as const;
const SPEC_MESSAGES: Record<number, string> = Object.fromEntries(SPEC_KINDS.map((k) => [ERRORS[k].rpc, ERRORS[k].message]));

export interface JsonRpcServer {
  /** jayson, handed one request object at a time, never a batch. */
  readonly jayson: jayson.Server;
  /** The rows a request asks for (see Dispatcher.pageRows). */
  rows(request: Record<string, unknown>): number;
  /** A call of a batch the door did not run (past the batch's budget): counted like the others (see CallLog.skipped). */
  skipped(request: Record<string, unknown>, ctx: CallContext, kind: ErrorKind): void;
}

export function createJsonRpcServer(dispatcher: Dispatcher): JsonRpcServer {
  const methods = new Map<string, jayson.Method>();
  for (const { name } of dispatcher.methods) {
    const handler = (params: unknown, ctx: CallContext, done: (err: unknown, result?: unknown) => void) => {
      dispatcher.invoke(name, params, ctx).then(
        (result) => done(null, result),
        // invoke rejects with the AppError its call log made of the failure.
        (err: unknown) => done((err as AppError).toRpc()),
      );
    };
    methods.set(name, new jayson.Method(handler as jayson.MethodHandlerContext, { useContext: true }));
  }
  // Undefined for a name not in the table, as from jayson's own router (jayson then answers -32601); its type says one is always found.
  const router = ((name: string) => methods.get(name)) as jayson.ServerRouterFunction;
  const server = new jayson.Server({}, { useContext: true, router });
  Object.assign(server.errorMessages, SPEC_MESSAGES);
  return {
    jayson: server,
    rows: (request) => dispatcher.pageRows(request.method, request.params),
    skipped: (request, ctx, kind) => dispatcher.skipped(request.method, ctx.door, kind),
  };
}
