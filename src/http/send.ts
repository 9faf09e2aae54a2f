/**
 * Writing responses, shared by every door: the security headers, the request
 * id, the CORS headers when the request's origin was allowed, and the timing
 * of JSON-RPC and REST requests. Kept allocation-light: the JSON-RPC door calls it on
 * every request.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Metrics } from '../metrics.js';
import { writeSoon } from './flush.js';

/** On every response: this service serves JSON only, never a page to frame or sniff. */
export const SECURITY_HEADERS = {
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
 * with the other headers in one go), the allowed CORS origin if any, and, on
 * the JSON-RPC and REST doors, when the request began and where to count it (cheaper
 * than a 'finish' listener).
 */
export const ID = Symbol('requestId');
export const TIMED = Symbol('timed');
export const ORIGIN = Symbol('corsOrigin');
export type Response = ServerResponse & {
  [ID]?: string;
  [TIMED]?: { started: number; metrics: Metrics };
  [ORIGIN]?: string;
};

/**
 * The CORS headers of every response to an allowed origin, preflights
 * included. Without Expose-Headers a browser script could not read the
 * request id or how long to wait after a 429; without Allow-Credentials a
 * client that sends withCredentials (frappe-js-sdk) could read nothing
 * (see cors.ts for why that is safe for listed origins only).
 */
function pushCors(headers: string[], origin: string): void {
  headers.push(
    'Access-Control-Allow-Origin', origin,
    'Access-Control-Allow-Credentials', 'true',
    'Vary', 'Origin',
    'Access-Control-Expose-Headers', 'X-Request-Id, Retry-After',
  );
}

function count(res: Response, status: number): void {
  const timed = res[TIMED];
  if (timed) timed.metrics.httpRequest(status, (performance.now() - timed.started) / 1000);
}

/** A body already encoded as JSON (the JSON-RPC door writes its own envelopes, to echo ids exactly). */
export class JsonText {
  constructor(readonly text: string) {}
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, body instanceof JsonText ? body.text : JSON.stringify(body));
}

/** JSON text as it is; `bytes` is its UTF-8 length when the caller measured it already. */
export function sendText(res: ServerResponse, status: number, text: string, bytes = Buffer.byteLength(text)): void {
  count(res, status);
  writeSoon(() => {
    const headers = [
      ...JSON_HEADERS,
      'X-Request-Id',
      (res as Response)[ID] ?? '',
      'Content-Length',
      String(bytes),
    ];
    const origin = (res as Response)[ORIGIN];
    if (origin !== undefined) pushCors(headers, origin);
    res.writeHead(status, headers);
    res.end(text);
  });
}

const NONE: readonly string[] = [];

/** A response without a body (204), with `extra` headers as a flat list. */
export function sendEmpty(res: ServerResponse, status: number, extra: readonly string[] = NONE): void {
  count(res, status);
  writeSoon(() => {
    const headers = [...EMPTY_HEADERS, 'X-Request-Id', (res as Response)[ID] ?? '', ...extra];
    const origin = (res as Response)[ORIGIN];
    if (origin !== undefined) pushCors(headers, origin);
    res.writeHead(status, headers).end();
  });
}

export function methodNotAllowed(res: ServerResponse, allow: string, body: unknown = { error: 'Method not allowed' }): void {
  res.setHeader('Allow', allow);
  sendJson(res, 405, body);
}
