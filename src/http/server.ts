/**
 * The HTTP door: routes, body limit, the token check, then jayson.
 * The token check happens once per HTTP request, so a batch pays for one.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppError, ERRORS, toAppError } from '../errors.js';
import type { Logger } from '../log.js';
import type jayson from 'jayson';
import type { JsonRpcServer } from '../rpc/jsonrpc.js';
import { callContext, type Services } from '../rpc/spec.js';
import { readBody, BodyTooLarge } from './body.js';

export interface HttpDeps {
  services: Services;
  jsonrpc: JsonRpcServer;
  log: Logger;
  maxBodyBytes: number;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const RPC_PATHS = new Set(['/rpc', '/']);

export function createHttpServer(deps: HttpDeps): http.Server {
  const server = http.createServer((req, res) => {
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
  res.setHeader('X-Request-Id', requestId);
  const path = (req.url ?? '/').split('?', 1)[0]!;

  if (path === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
    return sendJson(res, 200, { status: 'ok' });
  }
  if (path === '/metrics') {
    if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
    const { registry } = deps.services.metrics;
    const text = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
    res.end(text);
    return;
  }
  if (!RPC_PATHS.has(path)) return sendJson(res, 404, { error: 'Not found' });
  if (req.method !== 'POST') return methodNotAllowed(res, 'POST');

  const { log } = deps;
  const started = performance.now();
  res.once('finish', () => deps.services.metrics.httpRequest(res.statusCode, (performance.now() - started) / 1000));
  let body: string;
  try {
    body = await readBody(req, deps.maxBodyBytes);
  } catch (err) {
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
    verdict = await deps.services.auth.authenticate(req.headers.authorization);
  } catch (err) {
    const appErr = toAppError(err);
    log.error({ req_id: requestId, outcome: appErr.kind, err }, 'token check failed');
    return sendJson(res, ERRORS[appErr.kind].http, rpcError(id, appErr));
  }
  if (!verdict.ok) {
    log.info({ req_id: requestId, outcome: 'authentication_failed', reason: verdict.reason }, 'request refused');
    res.setHeader('WWW-Authenticate', 'token');
    return sendJson(res, 401, rpcError(id, new AppError('authentication_failed')));
  }

  if (!parsed) return sendJson(res, 200, rpcError(null, new AppError('parse_error')));
  // jayson would re-parse a JSON string as a request; the spec calls any non-object invalid.
  if (request === null || typeof request !== 'object') {
    return sendJson(res, 200, rpcError(null, new AppError('invalid_request')));
  }
  const ctx = callContext(verdict.caller, requestId, log, deps.services);
  deps.jsonrpc.call(request as jayson.JSONRPCRequestLike, ctx, (err: unknown, response: unknown) => {
    const reply = err ?? response;
    // No reply means the request held only notifications.
    if (reply === undefined || reply === null) {
      res.writeHead(204).end();
      return;
    }
    sendJson(res, 200, reply);
  });
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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}
