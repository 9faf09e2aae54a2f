/**
 * CORS for browser clients on other origins (config CORS_ORIGINS). Off by
 * default: with no origins configured no CORS header is ever sent, so a
 * browser page on another origin cannot read any answer.
 *
 * Modelled on Frappe's set_cors_headers (frappe/app.py): the allowed origin
 * is echoed with Vary: Origin, never `*`, with Access-Control-Allow-Credentials:
 * true, and preflights may be cached for a day (Frappe's 86400). Credentials
 * because frappe-js-sdk's axios client sets withCredentials: true, and a
 * browser then drops any reply that does not allow them. This service reads
 * no cookies; what credentials add is that the browser may attach Basic
 * credentials it cached for this host, which is why they are allowed only
 * for origins the operator listed, never for `*` (the Fetch standard forbids
 * the pair anyway).
 *
 * Frappe echoes whatever Access-Control-Request-Headers asks for; we answer
 * a fixed list instead (one constant, no per-request work): the headers
 * Frappe's clients send. frappe-js-sdk (src/utils/axios.ts) sends Accept,
 * Content-Type, Authorization, X-Frappe-Site-Name and X-Frappe-CSRF-Token;
 * frappe.call and jQuery add X-Requested-With (app.py reads it for is_ajax);
 * X-Request-Id is ours.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ORIGIN, sendEmpty, type Response } from './send.js';

const PREFLIGHT = [
  'Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE',
  'Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept, X-Request-Id, X-Frappe-Site-Name, X-Frappe-CSRF-Token, X-Requested-With',
  'Access-Control-Max-Age', '86400',
];

export class Cors {
  private readonly allowed: ReadonlySet<string>;
  /** False when no origin is configured: callers skip CORS entirely. */
  readonly enabled: boolean;

  constructor(origins: readonly string[]) {
    this.allowed = new Set(origins);
    this.enabled = this.allowed.size > 0;
  }

  /**
   * Marks the response for the CORS headers when the request comes from an
   * allowed origin. One Set lookup, no allocation: it runs on the hot path.
   */
  admit(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin !== undefined && this.allowed.has(origin)) (res as Response)[ORIGIN] = origin;
  }

  /**
   * Answers OPTIONS without a token. A preflight from an allowed origin gets
   * 204 with what it may send. Any other OPTIONS (CORS off, another origin,
   * or no Access-Control-Request-Method) gets a plain 204 with Allow and no
   * CORS header: that is what OPTIONS means in HTTP (RFC 9110 §9.3.7) and what
   * Frappe answers (an empty response), and a browser refuses the
   * cross-origin call all the same, since nothing allows it.
   */
  options(req: IncomingMessage, res: ServerResponse, allow: string): void {
    if (this.enabled) this.admit(req, res);
    const preflight = (res as Response)[ORIGIN] !== undefined && req.headers['access-control-request-method'] !== undefined;
    sendEmpty(res, 204, preflight ? PREFLIGHT : ['Allow', allow]);
  }
}
