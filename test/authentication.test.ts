import { expect } from 'chai';
import { newApiKey, newApiSecret } from '../src/auth/token.js';
import { useService, bearer, basic, tokenOf, expectError, expectResult } from './harness.js';

const FAILED = { code: -32001, message: 'Authentication failed' };

describe('token check on every call', () => {
  const svc = useService();
  let token: string;
  before(async () => {
    token = await svc.userWithToken('alice@example.com', ['Token Verifier']);
  });

  const verify = (headers: Record<string, string>) => svc.post({ jsonrpc: '2.0', id: 7, method: 'auth.verify' }, headers);

  it('accepts Authorization: token key:secret', async () => {
    const result = expectResult(await verify(bearer(token)));
    expect(result).to.deep.equal({
      valid: true,
      user: 'alice@example.com',
      roles: ['Token Verifier'],
      api_key: token.split(':')[0],
      scopes: [],
      expires_at: null,
      ip_allowlist: [],
      credits: null,
      ratelimits: [],
    });
  });

  it('accepts Authorization: Basic base64(key:secret)', async () => {
    const result = expectResult(await verify(basic(token)));
    expect(result.user).to.equal('alice@example.com');
  });

  it('refuses missing, malformed, unknown and wrong credentials alike: 401, -32001, one message', async () => {
    const [key, secret] = token.split(':') as [string, string];
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      'other scheme': { Authorization: `Bearer ${token}` },
      malformed: { Authorization: 'token nonsense' },
      'bad checksum': { Authorization: `token ${key}:${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}` },
      'unknown key': { Authorization: `token ${newApiKey()}:${secret}` },
      'wrong secret': { Authorization: `token ${key}:${newApiSecret()}` },
      'basic, wrong secret': basic(`${key}:${newApiSecret()}`),
    };
    for (const [name, headers] of Object.entries(cases)) {
      const reply = await verify(headers);
      expect(reply.status, name).to.equal(401);
      expect(reply.body, name).to.deep.equal({ jsonrpc: '2.0', id: 7, error: FAILED });
    }
  });

  it('refuses a whole batch without valid credentials (one error per call, as an array: test/batches.test.ts)', async () => {
    const reply = await svc.post([{ jsonrpc: '2.0', id: 1, method: 'auth.verify' }], {});
    expect(reply.status).to.equal(401);
    expect(reply.body).to.deep.equal([{ jsonrpc: '2.0', id: 1, error: FAILED }]);
  });

  it('refuses a disabled user, and accepts it again once enabled', async () => {
    const bobToken = await svc.userWithToken('bob');
    expectResult(await verify(bearer(bobToken)));
    expectResult(await svc.call('user.update', { name: 'bob', enabled: false }));
    const reply = await verify(bearer(bobToken));
    expect(reply.status).to.equal(401);
    expect(reply.body.error).to.deep.equal(FAILED);
    expectResult(await svc.call('user.update', { name: 'bob', enabled: true }));
    expectResult(await verify(bearer(bobToken)));
  });

  it('refuses a deleted user, and a new user of the same name does not inherit its key', async () => {
    const oldToken = await svc.userWithToken('carol');
    expectResult(await svc.call('user.delete', { name: 'carol' }));
    expectError(await verify(bearer(oldToken)), -32001, 401);
    expectResult(await svc.call('user.create', { name: 'carol' }));
    expectError(await verify(bearer(oldToken)), -32001, 401);
  });

  it('never writes a secret or an Authorization header to the logs', async () => {
    // Issued over HTTP, so the issuing call is logged too.
    const issued = expectResult(await svc.call('frappe.core.doctype.user.user.generate_keys', { user: 'alice@example.com' }));
    token = tokenOf(issued);
    await verify(bearer(token));
    await verify({ Authorization: `token ${token.split(':')[0]}:${newApiSecret()}` });
    const secret = token.split(':')[1]!;
    const all = svc.logs.join('\n');
    expect(all).to.not.include(secret);
    expect(all).to.not.include(svc.adminToken.split(':')[1]!);
    expect(all.toLowerCase()).to.not.include('authorization');
    expect(all).to.not.match(/tas_[0-9A-Za-z]{30}/);
  });
});
