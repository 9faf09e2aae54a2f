/**
 * The HTTP door: routes, body limit, the token check, then jayson.
 * The token check happens once per HTTP request, so a batch pays for one.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppError, ERRORS, toAppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { JsonRpcServer } from '../rpc/jsonrpc.js';
import { callContext, type Services } from '../rpc/spec.js';
import { readBody, BodyTooLarge, ClientGone } from './body.js';
import { prepare } from '../rpc/envelope.js';
import { writeSoon } from './flush.js';

export interface HttpDeps {
  /** True once shutdown began: answer what is in flight, then close the connection. */
  draining(): boolean;
  services: Services;
  jsonrpc: JsonRpcServer;
  log: Logger;
  maxBodyBytes: number;
  maxBatch: number;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** On every response: this service serves JSON only, never a page to frame or sniff. */
const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
// The same as a flat [name, value, ...] list: writeHead() takes it without building
// a header object first, which on the hot path is worth it.
const JSON_HEADERS = Object.entries({ ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' }).flat();
const EMPTY_HEADERS = Object.entries(SECURITY_HEADERS).flat();

/**
 * What rides on the response until it is written: the request id (written
 * with the other headers in one go) and, on the JSON-RPC door, when the
 * request began and where to count it (cheaper than a 'finish' listener).
 */
const ID = Symbol('requestId');
const TIMED = Symbol('timed');
type Response = ServerResponse & { [ID]?: string; [TIMED]?: { started: number; metrics: Metrics } };
const RPC_PATHS = new Set(['/rpc', '/']);
const TARPIT_MS = 1000;

export function createHttpServer(deps: HttpDeps): http.Server {
  // Node checks header and request timeouts only this often (30 s by default).
  const server = http.createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'unhandled request failure');
      if (!res.headersSent) sendJson(res, 500, rpcError(null, new AppError('internal')));
      else res.destroy();
    });
  });
  return server;
}

async function handle(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    const { registry } = deps.services.metrics;
    const text = await registry.metrics();
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': registry.contentType, 'X-Request-Id': requestId });
    res.end(text);
    return;
  }
  if (!RPC_PATHS.has(path)) return sendJson(res, 404, { error: 'Not found' });
  if (req.method !== 'POST') return methodNotAllowed(res, 'POST');

  const { log } = deps;
  (res as Response)[TIMED] = { started: performance.now(), metrics: deps.services.metrics };
  let body: string;
  try {
    body = await readBody(req, deps.maxBodyBytes);
  } catch (err) {
    if (err instanceof ClientGone) return;
    if (!(err instanceof BodyTooLarge)) throw err;
    log.info({ req_id: requestId, outcome: 'body_too_large' }, 'request refused');
    res.setHeader('Connection', 'close');
    return sendJson(res, 413, rpcError(null, new AppError('invalid_request', 'Request body too large')));
  }

  // Parsed here, once: the id is echoed on auth errors, and jayson's own
  // parse error would carry the SyntaxError object as an empty `data`.
  let request: unknown;
  let parsed = true;
  try {
    request = JSON.parse(body);
  } catch {
    parsed = false;
  }
  const id = idOf(request);

  let verdict;
  try {
    const weight = Array.isArray(request) ? Math.min(Math.max(request.length, 1), deps.maxBatch) : 1;
    verdict = await deps.services.auth.authenticate(req.headers.authorization, {
      address: req.socket.remoteAddress ?? 'unknown',
      weight,
    });
  } catch (err) {
    const appErr = toAppError(err);
    log.error({ req_id: requestId, outcome: appErr.kind, err }, 'token check failed');
    return sendJson(res, ERRORS[appErr.kind].http, rpcError(id, appErr));
  }
  if (!verdict.ok) {
    log.info({ req_id: requestId, outcome: 'authentication_failed', reason: verdict.reason }, 'request refused');
    if (verdict.reason === 'rate_limited') {
      res.setHeader('Retry-After', String(verdict.retryAfter));
      // A tarpit: a client over its limit waits for each refusal, so a flood
      // on kept-alive connections slows to a trickle instead of taking the CPU.
      // Counted from the request's start, so whether a lookup ran first does not show.
      const reply = rpcError(id, new AppError('rate_limited', 'Too many failed authentication attempts'));
      setTimeout(() => sendJson(res, 429, reply), Math.max(0, TARPIT_MS - (performance.now() - (res as Response)[TIMED]!.started)));
      return;
    }
    res.setHeader('WWW-Authenticate', 'token');
    return sendJson(res, 401, rpcError(id, new AppError('authentication_failed')));
  }

  if (!parsed) return sendJson(res, 200, rpcError(null, new AppError('parse_error')));
  // jayson would re-parse a JSON string as a request; the spec calls any non-object invalid.
  if (request === null || typeof request !== 'object') {
    return sendJson(res, 200, rpcError(null, new AppError('invalid_request')));
  }
  if (Array.isArray(request) && request.length > deps.maxBatch) {
    return sendJson(res, 200, rpcError(null, new AppError('invalid_request', 'Invalid Request', { max_batch: deps.maxBatch })));
  }
  const { payload, finish } = prepare(request);
  const respond = (reply: unknown) => {
    const body = finish(reply);
    // No reply means the request held only notifications.
    if (body === undefined) {
      count(res, 204);
      writeSoon(() => res.writeHead(204, [...EMPTY_HEADERS, 'X-Request-Id', requestId]).end());
    }
    else sendJson(res, 200, body);
  };
  if (payload === undefined) return respond(undefined);
  const ctx = callContext(verdict.caller, requestId, req.socket.remoteAddress ?? 'unknown', log, deps.services);
  deps.jsonrpc.call(payload, ctx, (err: unknown, response: unknown) => respond(err ?? response ?? undefined));
}

/** The id to echo on an error raised before jayson sees the request. */
function idOf(request: unknown): string | number | null {
  const id = request !== null && typeof request === 'object' ? (request as { id?: unknown }).id : null;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function rpcError(id: string | number | null, err: AppError) {
  return { jsonrpc: '2.0', id, error: err.toRpc() };
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendJson(res, 405, { error: 'Method not allowed' });
}

function count(res: Response, status: number): void {
  const timed = res[TIMED];
  if (timed) timed.metrics.httpRequest(status, (performance.now() - timed.started) / 1000);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  count(res, status);
  writeSoon(() => {
    res.writeHead(status, [
      ...JSON_HEADERS,
      'X-Request-Id',
      (res as Response)[ID] ?? '',
      'Content-Length',
      String(Buffer.byteLength(text)),
    ]);
    res.end(text);
  });
}
