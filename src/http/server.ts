/**
 * The HTTP door: routes, body limit, the token check, then jayson for
 * JSON-RPC (/rpc and /); Frappe's REST paths under /api/ (rest.ts), and an
 * old Frappe client's cmd=<method> sent to / (a form, or cmd in the query
 * string: rest.ts serves it as /api/method/<cmd>); the web page under /app
 * (web.ts). The token check happens once per HTTP request, so a batch pays
 * for one; envelope.ts then runs its calls in order, within its budget.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { JsonRpcServer } from '../rpc/jsonrpc.js';
import type { Dispatcher } from '../rpc/dispatch.js';
import { callContext, type Services } from '../rpc/spec.js';
import { readBody } from './body.js';
import { callBatch, callSingle, parseRequest, refusalText, rpcError, type Budget } from '../rpc/envelope.js';
import { ID, TIMED, SECURITY_HEADERS, JsonText, sendJson, sendText, sendEmpty, methodNotAllowed, type Response } from './send.js';
import { checkFailed, clientAddress, refuse } from './gate.js';
import { Cors } from './cors.js';
import { RestDoor, oldClient } from './rest.js';
import { serveWebApp } from './web.js';
import { serveMetrics } from './metrics-door.js';
import { secretInQuery } from './params.js';

export interface HttpDeps {
  /** True once shutdown began: answer what is in flight, then close the connection. */
  draining(): boolean;
  services: Services;
  /** The method table, for the REST door (the JSON-RPC door reaches it through jayson). */
  dispatcher: Dispatcher;
  jsonrpc: JsonRpcServer;
  log: Logger;
  maxBodyBytes: number;
  maxBatch: number;
  /** A batch's budget: the rows its calls may ask for in all (MAX_BATCH_ROWS). */
  maxBatchRows: number;
  /** The largest answer of a batch or a single call (MAX_RESPONSE_BYTES). */
  maxResponseBytes: number;
  /** Origins allowed to call from a browser (CORS); empty: CORS off. */
  corsOrigins: readonly string[];
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const RPC_PATHS = new Set(['/rpc', '/']);
/** The error body for a request whose id is not known (yet): built once, not per request. */
const anonymousError = (err: AppError) => rpcError(null, err);

export function createHttpServer(deps: HttpDeps): http.Server {
  const cors = new Cors(deps.corsOrigins);
  const rest = new RestDoor(deps, cors);
  // Node checks header and request timeouts only this often (30 s by default).
  const server = http.createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    handle(deps, cors, rest, req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'unhandled request failure');
      if (!res.headersSent) sendJson(res, 500, rpcError(null, new AppError('internal')));
      else res.destroy();
    });
  });
  return server;
}

async function handle(deps: HttpDeps, cors: Cors, rest: RestDoor, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const header = req.headers['x-request-id'];
  const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
  (res as Response)[ID] = requestId;
  if (deps.draining()) res.setHeader('Connection', 'close');
  const path = (req.url ?? '/').split('?', 1)[0]!;

  if (path === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
    return sendJson(res, 200, { status: 'ok' });
  }
  if (path === '/readyz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
    const ready = !deps.draining() && (await deps.services.storage.ping());
    return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
  }
  if (path === '/metrics') {
    if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
    return serveMetrics(deps.services, deps.log, req, res, requestId);
  }
  if (!RPC_PATHS.has(path)) {
    if (path.startsWith('/api/')) return rest.serve(req, res, path, requestId);
    if (path === '/app' || path.startsWith('/app/')) return serveWebApp(req, res, path);
    return sendJson(res, 404, { error: 'Not found' });
  }
  // The hot path's cost of old clients on /, and of a token sent in the URL: a length comparison.
  if (req.url!.length !== path.length) {
    if (path === '/' && oldClient.query(req.url!)) return rest.serve(req, res, path, requestId);
    // Refused, not ignored, as the REST door does: the URL is in access logs already, and the client should know.
    const refused = secretInQuery(req.url!.slice(path.length + 1));
    if (refused) return sendJson(res, 400, rpcError(null, refused));
  }
  // The hot path's whole cost of CORS: a flag, and a Set lookup when it is on.
  if (cors.enabled) cors.admit(req, res);
  if (req.method !== 'POST') {
    if (req.method === 'OPTIONS') return cors.options(req, res, 'POST, OPTIONS');
    return methodNotAllowed(res, 'POST');
  }

  const { log } = deps;
  (res as Response)[TIMED] = { started: performance.now(), metrics: deps.services.metrics };
  const body = await readBody(req, res, deps.maxBodyBytes, log, requestId, anonymousError);
  if (body === undefined) return;
  if (path === '/' && oldClient.body(req, body)) return rest.serve(req, res, path, requestId, body);

  // Parsed here, once: the ids are echoed on auth errors, and jayson's own
  // parse error would carry the SyntaxError object as an empty `data`.
  const parsed = parseRequest(body);
  const { request } = parsed;
  const refusal = (e: AppError) => {
    const text = refusalText(parsed, e, deps.maxBatch);
    return text === undefined ? undefined : new JsonText(text);
  };

  const address = clientAddress(req);
  let verdict;
  try {
    const weight = Array.isArray(request) ? Math.min(Math.max(request.length, 1), deps.maxBatch) : 1;
    verdict = await deps.services.auth.authenticate(req.headers.authorization, { address, weight });
  } catch (err) {
    return checkFailed(log, res, requestId, err, refusal);
  }
  if (!verdict.ok) return refuse(log, res, requestId, verdict, refusal);

  if (!parsed.ok) return sendJson(res, 200, rpcError(null, new AppError('parse_error')));
  // jayson would re-parse a JSON string as a request; the spec calls any non-object invalid.
  if (request === null || typeof request !== 'object') {
    return sendJson(res, 200, rpcError(null, new AppError('invalid_request')));
  }
  if (Array.isArray(request) && request.length > deps.maxBatch) {
    return sendJson(res, 200, rpcError(null, new AppError('invalid_request', 'Invalid Request', { max_batch: deps.maxBatch })));
  }
  if (Array.isArray(request) && request.length === 0) {
    return sendJson(res, 200, rpcError(null, new AppError('invalid_request')));
  }
  const ctx = callContext(verdict.caller, requestId, address, log, deps.services);
  if (!Array.isArray(request)) {
    // No reply means a notification.
    return callSingle(deps.jsonrpc, request as Record<string, unknown>, ctx, parsed.exactIds?.[0], deps.maxResponseBytes, (text, bytes) =>
      text === undefined ? sendEmpty(res, 204) : sendText(res, 200, text, bytes),
    );
  }
  const budget: Budget = deps;
  const batch = await callBatch(deps.jsonrpc, request, ctx, parsed.exactIds, budget);
  // No reply means the batch held only notifications.
  if (batch === undefined) sendEmpty(res, 204);
  else sendText(res, 200, batch.text, batch.bytes);
}
