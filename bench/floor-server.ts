/**
 * The floor under both the service and bare jayson: a raw node:http server
 * that reads the body, JSON.parses it and answers a JSON-RPC success envelope
 * with the single call's result ("Administrator", as
 * frappe.auth.get_logged_user answers the bench's token), with the service's
 * response headers (its security headers, Content-Type, X-Request-Id,
 * Content-Length). No token check, no routing, no validation, no logging, no
 * metrics, no database: what answering a JSON-RPC call over node:http costs
 * at the least. FLOOR_HEADERS=minimal sends only Content-Type and
 * Content-Length, as bare jayson does: the difference is the price of the
 * service's eight other headers.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';

// FLOOR_HEADERS=minimal: only Content-Type and Content-Length, as bare jayson sends.
const MINIMAL = process.env.FLOOR_HEADERS === 'minimal';
const HEADERS = MINIMAL
  ? ['Content-Type', 'application/json; charset=utf-8']
  : [
      'Cache-Control',
      'no-store',
      'X-Content-Type-Options',
      'nosniff',
      'Content-Security-Policy',
      "default-src 'none'; frame-ancestors 'none'",
      'X-Frame-Options',
      'DENY',
      'Referrer-Policy',
      'no-referrer',
      'Cross-Origin-Resource-Policy',
      'same-origin',
      'Content-Type',
      'application/json; charset=utf-8',
    ];

function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(
    status,
    MINIMAL
      ? [...HEADERS, 'Content-Length', String(Buffer.byteLength(text))]
      : [...HEADERS, 'X-Request-Id', randomUUID(), 'Content-Length', String(Buffer.byteLength(text))],
  );
  res.end(text);
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    // Any JSON value: null, a number or an array as well as a request object.
    let request: unknown;
    try {
      request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return answer(res, 200, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    const id = request !== null && typeof request === 'object' && 'id' in request ? request.id : undefined;
    answer(res, 200, { jsonrpc: '2.0', id: id ?? null, result: 'Administrator' });
  });
});
const port = Number(process.env.PORT);
server.listen(port, '127.0.0.1', () => process.send?.('ready'));
