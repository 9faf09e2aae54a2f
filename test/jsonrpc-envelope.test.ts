import { expect } from 'chai';
import { useService, bearer, basic, expectError, expectResult } from './harness.js';

describe('JSON-RPC 2.0 envelope over HTTP', () => {
  const svc = useService();

  const auth = () => bearer(svc.adminToken);

  it('answers a single call with its id', async () => {
    const reply = await svc.post({ jsonrpc: '2.0', id: 'abc', method: 'frappe.auth.get_logged_user' }, auth());
    expect(reply.body).to.deep.equal({ jsonrpc: '2.0', id: 'abc', result: 'Administrator' });
    expect(reply.headers.get('content-type')).to.match(/^application\/json/);
    expect(reply.headers.get('x-request-id')).to.be.a('string');
  });

  it('serves the same at POST /', async () => {
    const res = await fetch(`${svc.url}/`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }),
    });
    expect(await res.json()).to.deep.equal({ jsonrpc: '2.0', id: 1, result: 'Administrator' });
  });

  it('accepts a body sent as curl -d sends it (form content type)', async () => {
    const reply = await svc.post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }), {
      ...auth(),
      'Content-Type': 'application/x-www-form-urlencoded',
    });
    expect(expectResult(reply).valid).to.equal(true);
  });

  it('keeps a form-typed body without cmd on / for JSON-RPC (an empty one is a parse error, as ever)', async () => {
    for (const body of ['', '   ', 'x=1']) {
      const res = await fetch(`${svc.url}/`, {
        method: 'POST',
        headers: { ...auth(), 'Content-Type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status, JSON.stringify(body)).to.equal(200);
      expect(((await res.json()) as any).error.code, JSON.stringify(body)).to.equal(-32700);
    }
  });

  it('answers a batch in order, leaves out notifications, and reports each failure in place', async () => {
    const reply = await svc.post(
      [
        { jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' },
        { jsonrpc: '2.0', method: 'frappe.auth.get_logged_user' },
        { jsonrpc: '2.0', id: 2, method: 'no.such.method' },
        { jsonrpc: '2.0', id: 3, method: 'user.get', params: { name: 42 } },
        { foo: 'bar' },
      ],
      auth(),
    );
    expect(reply.status).to.equal(200);
    expect(reply.body).to.be.an('array').with.length(4);
    expect(reply.body[0]).to.deep.equal({ jsonrpc: '2.0', id: 1, result: 'Administrator' });
    expect(reply.body[1]).to.deep.include({ id: 2, error: { code: -32601, message: 'Method not found' } });
    expect(reply.body[2].error.code).to.equal(-32602);
    expect(reply.body[3]).to.deep.equal({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } });
  });

  it('answers a notification with 204 and no body, yet runs it', async () => {
    const reply = await svc.post({ jsonrpc: '2.0', method: 'user.create', params: { name: 'notified' } }, auth());
    expect(reply.status).to.equal(204);
    expect(reply.text).to.equal('');
    expectResult(await svc.call('user.get', { name: 'notified' }));
  });

  it('answers a batch of only notifications with 204', async () => {
    const reply = await svc.post(
      [
        { jsonrpc: '2.0', method: 'auth.verify' },
        { jsonrpc: '2.0', method: 'auth.verify' },
      ],
      auth(),
    );
    expect(reply.status).to.equal(204);
  });

  it('gives -32700 for invalid JSON', async () => {
    const reply = await svc.post('{"jsonrpc": "2.0", "method": ', auth());
    expect(reply.body).to.deep.equal({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
  });

  it('gives -32600 for an empty batch, a bare value, or a malformed request', async () => {
    for (const body of [
      [],
      '"just a string"',
      42,
      { jsonrpc: '1.0', id: 1, method: 'auth.verify' },
      { jsonrpc: '2.0', id: 1 },
      { jsonrpc: '2.0', id: 1, method: 'auth.verify', params: 'x' },
    ]) {
      const reply = await svc.post(typeof body === 'string' ? body : JSON.stringify(body), auth());
      expect(reply.body?.error?.code, JSON.stringify(body)).to.equal(-32600);
    }
  });

  it('answers each non-object element of a batch with its own -32600, and never hangs on one', async () => {
    const nested = await svc.post([[]], auth());
    expect(nested.body).to.deep.equal([{ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } }]);
    const mixed = await svc.post([{ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, [], 7], auth());
    expect(mixed.body).to.have.length(3);
    expect(mixed.body[0]).to.deep.equal({ jsonrpc: '2.0', id: 1, result: 'Administrator' });
    expect(mixed.body.slice(1).map((r: { error: { code: number } }) => r.error.code)).to.deep.equal([-32600, -32600]);
  });

  it('answers a request whose id is null (it is not a notification)', async () => {
    const single = await svc.post({ jsonrpc: '2.0', id: null, method: 'frappe.auth.get_logged_user' }, auth());
    expect(single.body).to.deep.equal({ jsonrpc: '2.0', id: null, result: 'Administrator' });
    const batch = await svc.post([{ jsonrpc: '2.0', id: null, method: 'frappe.auth.get_logged_user' }], auth());
    expect(batch.body).to.deep.equal([{ jsonrpc: '2.0', id: null, result: 'Administrator' }]);
  });

  it('refuses a batch over MAX_BATCH calls as a whole', async () => {
    const batch = Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'auth.verify' }));
    const reply = await svc.post(batch, auth());
    expect(reply.body).to.deep.equal({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request', data: { max_batch: 100 } } });
    const full = await svc.post(batch.slice(0, 100), auth());
    expect(full.body).to.have.length(100);
  });

  it('sends the security headers on every response', async () => {
    const responses = [
      await fetch(`${svc.url}/healthz`),
      await fetch(`${svc.url}/readyz`),
      await fetch(`${svc.url}/metrics`, { headers: basic(svc.adminToken) }),
      await fetch(`${svc.url}/nope`),
      await fetch(`${svc.url}/rpc`),
      await fetch(`${svc.url}/rpc`, { method: 'POST', body: '{}' }),
      await fetch(`${svc.url}/rpc`, { method: 'POST', headers: auth(), body: JSON.stringify({ jsonrpc: '2.0', method: 'auth.verify' }) }),
      await fetch(`${svc.url}/rpc`, { method: 'POST', headers: auth(), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }) }),
    ];
    for (const res of responses) {
      const where = `${res.url} ${res.status}`;
      expect(res.headers.get('cache-control'), where).to.equal('no-store');
      expect(res.headers.get('x-content-type-options'), where).to.equal('nosniff');
      expect(res.headers.get('content-security-policy'), where).to.equal("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options'), where).to.equal('DENY');
      expect(res.headers.get('referrer-policy'), where).to.equal('no-referrer');
    }
  });

  it('answers /readyz with 200 while the database answers', async () => {
    const res = await fetch(`${svc.url}/readyz`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ready' });
  });

  it('gives -32601 for an unknown method, with the specification message', async () => {
    const err = expectError(await svc.call('frappe.no.such'), -32601);
    expect(err.message).to.equal('Method not found');
  });

  it('maps positional params onto named ones in schema order', async () => {
    expect(expectResult(await svc.call('user.get', ['Administrator'])).name).to.equal('Administrator');
    const err = expectError(await svc.call('user.get', ['Administrator', 'extra']), -32602);
    expect(err.data[0].message).to.match(/at most 1 positional/);
  });

  it('gives -32602 with the failing paths in error.data', async () => {
    const err = expectError(await svc.call('user.create', { name: 'ok', roles: ['fine', 7] }), -32602);
    expect(err.message).to.equal('Invalid params');
    expect(err.data).to.deep.equal([{ path: '/roles/1', message: 'must be string' }]);
    const unknown = expectError(await svc.call('user.get', { name: 'x', sneaky: true }), -32602);
    expect(unknown.data).to.deep.equal([{ path: '/sneaky', message: 'is not a known parameter' }]);
    const missing = expectError(await svc.call('user.get', {}), -32602);
    expect(missing.data).to.deep.equal([{ path: '/name', message: "must have required property 'name'" }]);
  });

  it('never lets an operator object reach a query', async () => {
    for (const name of [{ $ne: null }, { $gt: '' }, { $regex: '.*' }]) {
      expectError(await svc.call('user.get', { name }), -32602);
    }
    expectError(await svc.call('user.get', { name: '$where' }), -32602);
  });

  it('answers GET /healthz with 200 and no token', async () => {
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ok' });
  });

  it('answers other paths with 404 and GET /rpc with 405', async () => {
    expect((await fetch(`${svc.url}/nope`)).status).to.equal(404);
    const res = await fetch(`${svc.url}/rpc`);
    expect(res.status).to.equal(405);
    expect(res.headers.get('allow')).to.equal('POST');
  });

  it('refuses a body over the size limit with 413 before parsing', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'auth.verify', params: { token: 'x'.repeat(2 * 1024 * 1024) } });
    const reply = await svc.post(big, auth());
    expect(reply.status).to.equal(413);
  });

  it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
    const ok = await svc.post({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }, { ...auth(), 'X-Request-Id': 'abc-123' });
    expect(ok.headers.get('x-request-id')).to.equal('abc-123');
    const bad = await svc.post({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }, { ...auth(), 'X-Request-Id': 'a b\tc' });
    expect(bad.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('never echoes an id holding a secret: the call is refused (-32600, id null) without running, also in a batch and when the token is refused (found by an outside attacker)', async () => {
    const { token } = await svc.newUserWithToken();
    const secret = token.split(':')[1]!;
    const body = secret.slice(4);
    for (const id of [token, secret, body, `TAS_${body}`, `req-${body}-1`]) {
      const name = `id-secret-${Math.random().toString(36).slice(2)}`;
      const reply = await svc.post({ jsonrpc: '2.0', id, method: 'user.create', params: { name } }, auth());
      expect(reply.body, id).to.deep.include({ id: null });
      expect(reply.body.error.code).to.equal(-32600);
      expect(reply.body.error.message).to.match(/the id holds an API secret/);
      expect(reply.text).to.not.include(body);
      expect(await svc.collection('users').countDocuments({ name }), 'the call did not run').to.equal(0);
    }
    const batch = await svc.post(
      [
        { jsonrpc: '2.0', id: body, method: 'frappe.auth.get_logged_user' },
        { jsonrpc: '2.0', id: 2, method: 'frappe.auth.get_logged_user' },
      ],
      auth(),
    );
    expect(batch.body.map((r: any) => [r.id, r.error?.code ?? r.result])).to.deep.equal([
      [null, -32600],
      [2, 'Administrator'],
    ]);
    const refused = await svc.post({ jsonrpc: '2.0', id: token, method: 'frappe.auth.get_logged_user' }, {});
    expect(refused.status).to.equal(401);
    expect(refused.body.id).to.equal(null);
    expect(refused.text).to.not.include(body);
    expect(svc.logs.filter((l) => l.includes(body))).to.deep.equal([]);
    // An ordinary long id is still echoed.
    const uuid = '7f1d2c3a-9b8e-4d6f-a5c4-3b2a1f0e9d8c';
    expect((await svc.post({ jsonrpc: '2.0', id: uuid, method: 'frappe.auth.get_logged_user' }, auth())).body.id).to.equal(uuid);
  });

  it('logs each call as JSON with the request id and method name', async () => {
    await svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, { ...auth(), 'X-Request-Id': 'log-check-1' });
    const line = svc.logs.map((l) => JSON.parse(l)).find((l) => l.req_id === 'log-check-1' && l.method);
    expect(line).to.include({ method: 'frappe.auth.get_logged_user', outcome: 'ok', user: 'Administrator' });
  });
});

describe('X-Request-Id shaped like a secret (found by an outside attacker)', () => {
  const svc = useService();

  it('is replaced, so a secret sent there is never logged or audited', async () => {
    const header = `tas_${'a'.repeat(30)}`;
    const reply = await svc.post(
      { jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' },
      { authorization: `token ${svc.adminToken}`, 'X-Request-Id': header },
    );
    expect(reply.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    expect(svc.logs.join('\n')).to.not.include(header);
  });

  it("is replaced when it holds a live secret's body, bare or under any prefix: not echoed, logged or audited", async () => {
    const owner = await svc.newUser();
    const secret = (await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: owner })).api_secret as string;
    const body = secret.slice(4);
    for (const [i, header] of [body, `TAS_${body}`, `Tas-${body}`, `x.${body}.y`].entries()) {
      const name = `request-id-${i}@example.com`;
      const reply = await svc.post(
        { jsonrpc: '2.0', id: 1, method: 'user.create', params: { name } },
        { authorization: `token ${svc.adminToken}`, 'X-Request-Id': header },
      );
      expect(reply.status, header).to.equal(200);
      // As for a missing or malformed id: one the service made.
      expect(reply.headers.get('x-request-id'), header).to.match(/^[0-9a-f-]{36}$/);
      const entry = await svc.collection('audit_log').findOne({ action: 'user.create', target: name });
      expect(entry?.request_id, header).to.equal(reply.headers.get('x-request-id'));
    }
    expect(svc.logs.join('\n')).to.not.include(body);
    expect(JSON.stringify(await svc.collection('audit_log').find().toArray())).to.not.include(body);
  });

  it('still echoes an ordinary long id: a UUID, 32 hex digits, 64 alphanumerics that are no secret', async () => {
    for (const header of ['3f2a6c1e-8b4d-4e0f-9a7b-1c2d3e4f5a6b', '3f2a6c1e8b4d4e0f9a7b1c2d3e4f5a6b', 'Ab1'.repeat(21) + 'x']) {
      const reply = await svc.post(
        { jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' },
        { authorization: `token ${svc.adminToken}`, 'X-Request-Id': header },
      );
      expect(reply.headers.get('x-request-id'), header).to.equal(header);
    }
  });
});
