/**
 * The web page door: `/app` (and `/app/`) is the page, `/app/<file>` its
 * assets. The files in web/ are read once, when this module loads, into a
 * fixed allow-list: a request either names one of them exactly or gets 404,
 * so no path can reach anything else on disk. The page talks JSON-RPC to
 * this same origin only, and its Content-Security-Policy says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { packageRoot } from '../paths.js';
import { statusOf } from '../errors.js';

const WEB_DIR = path.join(packageRoot, 'web');

/** No inline scripts or styles, no other origin, no framing, no form posts. */
export const WEB_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const WEB_HEADERS = {
  'Content-Security-Policy': WEB_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  // Always revalidated (cheap with the ETag), so a new version shows at once.
  'Cache-Control': 'no-cache',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Every servable file by its URL path under /app/ ("app.js", "index.html"). */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[];
  try {
    names = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return assets; // no web/ folder: every /app request is a 404
  }
  for (const name of names) {
    const type = TYPES[path.extname(name)];
    const file = path.join(dir, name);
    // Regular files only: a symlink could point anywhere on disk.
    if (!type || !fs.lstatSync(file).isFile()) continue;
    const body = fs.readFileSync(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    assets.set(name.split(path.sep).join('/'), { body, type, etag });
  }
  return assets;
}

const ASSETS = loadAssets(WEB_DIR);

/** Serves the web page and its assets under /app. `urlPath` has no query string. */
export function serveWebApp(req: IncomingMessage, res: ServerResponse, urlPath: string): void {
  let name: string | undefined;
  if (urlPath === '/app' || urlPath === '/app/') name = 'index.html';
  else if (urlPath.startsWith('/app/')) name = urlPath.slice('/app/'.length);
  const asset = name === undefined ? undefined : ASSETS.get(name);
  if (!asset) return plain(res, statusOf('route_not_found'), 'Not found');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return plain(res, statusOf('method_not_allowed'), 'Method not allowed');
  }
  const headers = { ...WEB_HEADERS, ETag: asset.etag };
  if (matches(req.headers['if-none-match'], asset.etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Type': asset.type, 'Content-Length': String(asset.body.length) });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    ...WEB_HEADERS,
    'Cache-Control': 'no-store',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
