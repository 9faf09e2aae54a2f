/**
 * CORS (config CORS_ORIGINS): off by default; a listed origin gets the CORS
 * headers on both doors, preflights included, without a token, with
 * credentials allowed as Frappe's set_cors_headers does (frappe-js-sdk sends
 * withCredentials: true); any other origin gets none.
 */
import { expect } from 'chai';
import { useService } from './harness.js';

const TOOLS = 'https://tools.example.com';
const OTHER = 'https://evil.example.com';

function expectNoCors(res: Response, where: string): void {
  for (const h of [
    'access-control-allow-origin',
    'access-control-allow-methods',
    'access-control-allow-headers',
    'access-control-expose-headers',
    'access-control-max-age',
    'access-control-allow-credentials',
  ]) {
    expect(res.headers.get(h), `${where}: ${h}`).to.equal(null);
  }
}

function expectCors(res: Response, where: string): void {
  expect(res.headers.get('access-control-allow-origin'), where).to.equal(TOOLS);
  expect(res.headers.get('vary'), where).to.equal('Origin');
  expect(res.headers.get('access-control-expose-headers'), where).to.equal('X-Request-Id, Retry-After, RateLimit, RateLimit-Policy');
  // frappe-js-sdk's axios client sets withCredentials: true; without this the browser drops the reply.
  expect(res.headers.get('access-control-allow-credentials'), where).to.equal('true');
}

const preflight = (url: string, origin: string, method = 'POST') =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
  });

/** What frappe-js-sdk's getRequestHeaders sets in a browser (src/utils/axios.ts), as the browser lists them in a preflight. */
const SDK_HEADERS = 'accept, authorization, content-type, x-frappe-csrf-token, x-frappe-site-name';
const ALLOWED_HEADERS = 'Authorization, Content-Type, Accept, X-Request-Id, X-Frappe-Site-Name, X-Frappe-CSRF-Token, X-Requested-With';

const PATHS = ['/rpc', '/', '/api/method/frappe.auth.get_logged_user', '/api/v1/method/auth.verify/', '/api/resource/User', '/api/resource/User/Administrator'];

describe('CORS with an allowed origin', () => {
  const svc = useService({ corsOrigins: [TOOLS] });

  const rpc = (origin: string | undefined, body: unknown, token: string | null = svc.adminToken) =>
    fetch(`${svc.url}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}), ...(token ? { authorization: `token ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('answers a preflight on every door with 204 and what may be sent, without a token', async () => {
    for (const path of PATHS) {
      const res = await preflight(`${svc.url}${path}`, TOOLS, path.startsWith('/api/resource/User/') ? 'DELETE' : 'POST');
      expect(res.status, path).to.equal(204);
      expectCors(res, path);
      expect(res.headers.get('access-control-allow-methods'), path).to.equal('GET, POST, PUT, DELETE');
      expect(res.headers.get('access-control-allow-headers'), path).to.equal(ALLOWED_HEADERS);
      expect(res.headers.get('access-control-max-age'), path).to.equal('86400');
      expect(await res.text(), path).to.equal('');
    }
  });

  it("allows frappe-js-sdk's preflight: credentials, and every header it sends", async () => {
    const res = await fetch(`${svc.url}/api/resource/User`, {
      method: 'OPTIONS',
      headers: { origin: TOOLS, 'access-control-request-method': 'GET', 'access-control-request-headers': SDK_HEADERS },
    });
    expect(res.status).to.equal(204);
    expect(res.headers.get('access-control-allow-credentials')).to.equal('true');
    const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase().split(', ');
    for (const h of SDK_HEADERS.split(', ')) expect(allowed, h).to.include(h);
    // The call that follows, as the SDK sends it: the reply is readable with credentials.
    const call = await fetch(`${svc.url}/api/resource/User`, {
      headers: {
        origin: TOOLS,
        accept: 'application/json',
        'content-type': 'application/json; charset=utf-8',
        'x-frappe-site-name': 'tools.example.com',
        authorization: `token ${svc.adminToken}`,
      },
    });
    expect(call.status).to.equal(200);
    expectCors(call, 'SDK call');
  });

  it('sends the CORS headers on JSON-RPC replies to the allowed origin, errors and notifications included', async () => {
    const ok = await rpc(TOOLS, { jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' });
    expect(((await ok.json()) as { result: unknown }).result).to.equal('Administrator');
    expectCors(ok, 'result');
    const refused = await rpc(TOOLS, { jsonrpc: '2.0', id: 1, method: 'auth.verify' }, null);
    expect(refused.status).to.equal(401);
    expectCors(refused, '401');
    const notification = await rpc(TOOLS, { jsonrpc: '2.0', method: 'auth.verify' });
    expect(notification.status).to.equal(204);
    expectCors(notification, '204');
    const root = await fetch(`${svc.url}/`, {
      method: 'POST',
      headers: { origin: TOOLS, authorization: `token ${svc.adminToken}` },
      body: '{"jsonrpc":"2.0","id":2,"method":"auth.verify"}',
    });
    expectCors(root, 'POST /');
  });

  it('sends them on REST replies to the allowed origin, errors included', async () => {
    const ok = await fetch(`${svc.url}/api/method/frappe.auth.get_logged_user`, { headers: { origin: TOOLS, authorization: `token ${svc.adminToken}` } });
    expect(await ok.json()).to.deep.equal({ message: 'Administrator' });
    expectCors(ok, 'REST 200');
    const refused = await fetch(`${svc.url}/api/resource/User`, { headers: { origin: TOOLS } });
    expect(refused.status).to.equal(401);
    expectCors(refused, 'REST 401');
  });

  it('sends nothing to another origin, or without an Origin header', async () => {
    const other = await rpc(OTHER, { jsonrpc: '2.0', id: 1, method: 'auth.verify' });
    expect(other.status, 'the call itself is answered: CORS is enforced by the browser').to.equal(200);
    expectNoCors(other, 'other origin');
    expectNoCors(await rpc(undefined, { jsonrpc: '2.0', id: 1, method: 'auth.verify' }), 'no origin');
    expectNoCors(await rpc(`${TOOLS}:8443`, { jsonrpc: '2.0', id: 1, method: 'auth.verify' }), 'another port');
    expectNoCors(await rpc('https://TOOLS.example.com', { jsonrpc: '2.0', id: 1, method: 'auth.verify' }), 'exact match only');
    const rest = await fetch(`${svc.url}/api/method/auth.verify`, { headers: { origin: OTHER, authorization: `token ${svc.adminToken}` } });
    expectNoCors(rest, 'REST, other origin');
    for (const path of PATHS) {
      const res = await preflight(`${svc.url}${path}`, OTHER);
      expect(res.status, path).to.equal(204);
      expectNoCors(res, `preflight ${path}`);
    }
  });

  it('answers an OPTIONS that is no preflight with Allow', async () => {
    const res = await fetch(`${svc.url}/rpc`, { method: 'OPTIONS' });
    expect(res.status).to.equal(204);
    expect(res.headers.get('allow')).to.equal('POST, OPTIONS');
    expectNoCors(res, 'no origin');
    const doc = await fetch(`${svc.url}/api/resource/User/ann`, { method: 'OPTIONS' });
    expect(doc.headers.get('allow')).to.equal('GET, PUT, DELETE, OPTIONS');
  });
});

describe('CORS off (the default)', () => {
  const svc = useService();

  it('sends no CORS header at all, preflight or not', async () => {
    for (const path of PATHS) {
      const res = await preflight(`${svc.url}${path}`, TOOLS);
      expect(res.status, path).to.equal(204);
      expectNoCors(res, path);
    }
    const call = await fetch(`${svc.url}/rpc`, {
      method: 'POST',
      headers: { origin: TOOLS, authorization: `token ${svc.adminToken}` },
      body: '{"jsonrpc":"2.0","id":1,"method":"auth.verify"}',
    });
    expect(call.status).to.equal(200);
    expectNoCors(call, 'POST /rpc');
  });

  it('keeps 405 with Allow: POST for other verbs on /rpc', async () => {
    const res = await fetch(`${svc.url}/rpc`, { method: 'GET', headers: { origin: TOOLS } });
    expect(res.status).to.equal(405);
    expect(res.headers.get('allow')).to.equal('POST');
  });
});
