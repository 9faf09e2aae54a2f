/**
 * Property-based fuzzing with fast-check: random bodies, content types,
 * headers, Authorization values, envelopes and params against the HTTP door.
 * Every reply must be a well-formed JSON-RPC response (or an empty 204), never
 * a 5xx, never a hang, never an internal error; the server must keep
 * answering. A failure prints fast-check's seed and path; rerun it with
 * FUZZ_SEED=<seed>.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { useService } from './harness.js';
import { methodTable } from '../src/methods/index.js';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

function isRpcResponse(x: unknown): boolean {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
  const r = x as Record<string, unknown>;
  if (r.jsonrpc !== '2.0' || !('id' in r)) return false;
  if (!(typeof r.id === 'string' || typeof r.id === 'number' || r.id === null)) return false;
  if ('result' in r === 'error' in r) return false;
  if ('error' in r) {
    // Any JSON value, null included.
    const e = r.error as Record<string, unknown> | null;
    return Number.isInteger(e?.code) && typeof e?.message === 'string';
  }
  return true;
}

describe(`fuzzing the JSON-RPC door (seed ${seed})`, function () {
  this.timeout(300_000);
  const svc = useService({ maxBodyBytes: 64 * 1024 });

  const send = async (path: string, method: string, body: string | undefined, headers: Record<string, string>) => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 10_000); // a hang fails the property
    try {
      const res = await fetch(`${svc.url}${path}`, { method, headers, body, signal: ctrl.signal });
      return { status: res.status, text: await res.text() };
    } finally {
      clearTimeout(timer);
    }
  };

  const check = (status: number, text: string) => {
    expect(status, text).to.be.below(500);
    if (status === 204) return expect(text).to.equal('');
    // A refused batch of only notifications: the status says it all (see src/rpc/envelope.ts refusalText).
    if (text === '' && [401, 429, 503].includes(status)) return;
    const body = JSON.parse(text);
    if (Array.isArray(body)) {
      expect(body.length).to.be.above(0);
      for (const r of body) expect(isRpcResponse(r), text).to.equal(true);
      for (const r of body) expect(r.error?.code, text).to.not.equal(-32603);
    } else if (body && typeof body === 'object' && 'jsonrpc' in body) {
      expect(isRpcResponse(body), text).to.equal(true);
      expect(body.error?.code, text).to.not.equal(-32603);
    } else {
      expect(body, text).to.have.property('error'); // 404/405 on other paths
    }
  };

  const authorization = () =>
    fc.oneof(
      fc.constant(`token ${svc.adminToken}`),
      fc.constant(`Basic ${Buffer.from(svc.adminToken).toString('base64')}`),
      fc.string({ maxLength: 80 }),
      fc.string({ maxLength: 80 }).map((s) => `token ${s}`),
      fc.string({ maxLength: 80 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
    );
  const contentType = fc.oneof(
    fc.constant('application/json'),
    fc.constant('application/x-www-form-urlencoded'),
    fc.constant('text/plain; charset=latin1'),
    fc.string({ maxLength: 40 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
  );
  const methodName = fc.oneof(fc.constantFrom(...methodTable.map((m) => m.name)), fc.string({ maxLength: 30 }), fc.constant('rpc.discover'));
  const params = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.dictionary(
      fc.constantFrom('name', 'user', 'token', 'start', 'limit', 'roles', 'enabled', 'full_name', '$ne', '__proto__'),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  );
  const id = fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), fc.double(), fc.boolean());
  const envelope = fc.record({ jsonrpc: fc.oneof(fc.constant('2.0'), fc.string({ maxLength: 4 })), id, method: methodName, params }, { requiredKeys: [] });
  const body = fc.oneof(
    envelope.map((e) => JSON.stringify(e)),
    fc.array(fc.oneof(envelope, fc.jsonValue({ maxDepth: 2 })), { maxLength: 8 }).map((b) => JSON.stringify(b)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  );

  it('answers random requests with well-formed JSON-RPC and no 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(body, authorization(), contentType, async (b, auth, type) => {
        const { status, text } = await send('/rpc', 'POST', b, { authorization: auth, 'content-type': type });
        check(status, text);
      }),
      { seed, numRuns: RUNS },
    );
  });

  it('answers random envelopes from an authenticated caller without an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(envelope, fc.array(envelope, { minLength: 1, maxLength: 5 })), async (e) => {
        const { status, text } = await send('/rpc', 'POST', JSON.stringify(e), { authorization: `token ${svc.adminToken}` });
        check(status, text);
      }),
      { seed, numRuns: RUNS },
    );
  });

  it('answers random paths, verbs and headers without a 5xx', async () => {
    const path = fc.oneof(fc.constantFrom('/rpc', '/', '/healthz', '/readyz', '/metrics', '/api/method/auth.verify'), fc.webPath());
    const verb = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
    await fc.assert(
      fc.asyncProperty(path, verb, authorization(), async (p, v, auth) => {
        const safePath = p.startsWith('/') ? p : `/${p}`;
        const { status } = await send(safePath, v, v === 'GET' || v === 'HEAD' ? undefined : '{}', { authorization: auth });
        expect(status).to.be.below(500);
      }),
      { seed, numRuns: RUNS },
    );
  });

  it("answers random REST requests with Frappe's bodies, no 5xx and no internal error", async () => {
    const name = fc.oneof(fc.constantFrom(...methodTable.map((m) => m.name)), fc.string({ maxLength: 30 }));
    const path = fc.oneof(
      fc.tuple(fc.constantFrom('/api/method/', '/api/v1/method/'), name, fc.constantFrom('', '/')).map(([p, n, s]) => `${p}${encodeURIComponent(n)}${s}`),
      fc
        .tuple(
          fc.constantFrom('/api/resource/', '/api/v1/resource/'),
          fc.constantFrom('User', 'User/', 'Customer', '%E0%A4%A'),
          fc.oneof(
            fc.constant(''),
            fc.string({ maxLength: 20 }).map((s) => `/${encodeURIComponent(s)}`),
          ),
        )
        .map(([p, d, n]) => `${p}${d}${n}`),
      fc.webPath().map((p) => `/api/${p.replace(/^\//, '')}`),
    );
    const names = fc.constantFrom(
      'name',
      'user',
      'token',
      'start',
      'limit',
      'limit_start',
      'limit_page_length',
      'fields',
      'filters',
      'or_filters',
      'order_by',
      'as_dict',
      'roles',
      'enabled',
      'full_name',
      'data',
      'cmd',
      '_',
      'debug',
      '__proto__',
      'constructor',
      '$where',
    );
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.constantFrom('0', '1', 'true', 'False', 'null', '[]', '{}', '"*"'),
    );
    const fields = fc.dictionary(names, value, { maxKeys: 4 });
    const verb = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
    const body = fc.oneof(
      fc.constant(undefined),
      fields.map((f) => ({ type: 'application/x-www-form-urlencoded', text: new URLSearchParams(f).toString() })),
      fc.dictionary(names, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }).map((o) => ({ type: 'application/json', text: JSON.stringify(o) })),
      fc.tuple(contentType, fc.string({ maxLength: 100 })).map(([type, text]) => ({ type, text })),
    );
    await fc.assert(
      fc.asyncProperty(path, fields, verb, body, authorization(), async (p, query, v, b, auth) => {
        const qs = new URLSearchParams(query).toString();
        const headers: Record<string, string> = { authorization: auth };
        if (b) headers['content-type'] = b.type;
        const sendsBody = b !== undefined && v !== 'GET' && v !== 'HEAD';
        const { status, text } = await send(qs ? `${p}?${qs}` : p, v, sendsBody ? b.text : undefined, headers);
        expect(status, text).to.be.below(500);
        if (status === 204 || v === 'HEAD') {
          expect(text).to.equal('');
          return;
        }
        const reply = JSON.parse(text);
        if (status >= 400) {
          expect(reply, text).to.have.keys('exc_type', 'exception', 'exc', '_server_messages');
          expect(JSON.parse(reply.exc), text).to.deep.equal([reply.exception]);
          expect(reply.exc_type, text).to.not.equal('Exception');
        } else {
          expect(Object.keys(reply), text).to.satisfy((k: string[]) => k.length === 1 && (k[0] === 'message' || k[0] === 'data'));
        }
      }),
      { seed, numRuns: RUNS },
    );
  });

  it('keeps answering afterwards', async () => {
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).to.equal(200);
    const reply = await svc.call('frappe.auth.get_logged_user');
    expect(reply.body.result).to.equal('Administrator');
  });
});
