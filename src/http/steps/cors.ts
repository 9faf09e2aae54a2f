/**
 * Step 3, CORS, for browser clients on other origins (config CORS_ORIGINS).
 * Off by default: with no origins configured no CORS header is ever sent, so
 * a browser page on another origin cannot read any answer. OPTIONS is
 * answered here, without a token.
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
import type { Step } from '../exchange.js';

const PREFLIGHT = [
  'Access-Control-Allow-Methods',
  'GET, POST, PUT, DELETE',
  'Access-Control-Allow-Headers',
  'Authorization, Content-Type, Accept, X-Request-Id, X-Frappe-Site-Name, X-Frappe-CSRF-Token, X-Requested-With',
  'Access-Control-Max-Age',
  '86400',
];

export function cors(origins: readonly string[]): Step {
  const allowed: ReadonlySet<string> = new Set(origins);
  // The hot path's whole cost of CORS: a flag, and a Set lookup when it is on.
  const enabled = allowed.size > 0;
  return (x) => {
    if (enabled) {
      const origin = x.req.headers.origin;
      if (origin !== undefined && allowed.has(origin)) x.origin = origin;
    }
    if (x.req.method !== 'OPTIONS') return true;
    // A preflight from an allowed origin gets 204 with what it may send. Any
    // other OPTIONS (CORS off, another origin, or no Access-Control-Request-Method)
    // gets a plain 204 with Allow and no CORS header: what OPTIONS means in HTTP
    // (RFC 9110 §9.3.7) and what Frappe answers; a browser refuses the
    // cross-origin call all the same, since nothing allows it.
    const preflight = x.origin !== undefined && x.req.headers['access-control-request-method'] !== undefined;
    x.empty(204, preflight ? PREFLIGHT : ['Allow', `${x.allow.join(', ')}, OPTIONS`]);
    return false;
  };
}
