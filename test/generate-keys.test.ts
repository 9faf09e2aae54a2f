import { expect } from 'chai';
import { startService, bearer, tokenOf, expectError, expectResult, type TestService } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe(GENERATE, () => {
  let svc: TestService;
  before(async () => {
    svc = await startService();
    await svc.asAdmin('user.create', { name: 'svc@example.com' });
  });
  after(async () => svc.close());

  const whoami = (token: string) => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));

  it('returns api_key and api_secret, and the pair authenticates', async () => {
    const keys = expectResult(await svc.call(GENERATE, { user: 'svc@example.com' }));
    expect(keys).to.have.keys('api_key', 'api_secret', 'expires_at', 'scopes', 'previous_valid_until');
    expect(expectResult(await whoami(tokenOf(keys)))).to.equal('svc@example.com');
  });

  it('keeps the api_key and replaces the secret at once on every call', async () => {
    const first = expectResult(await svc.call(GENERATE, ['svc@example.com']));
    const second = expectResult(await svc.call(GENERATE, ['svc@example.com']));
    expect(second.api_key).to.equal(first.api_key);
    expect(second.api_secret).to.not.equal(first.api_secret);
    expectError(await whoami(tokenOf(first)), -32001, 401);
    expect(expectResult(await whoami(tokenOf(second)))).to.equal('svc@example.com');
  });

  it('stores only a SHA-256 hash of the secret', async () => {
    const keys = expectResult(await svc.call(GENERATE, { user: 'svc@example.com' }));
    const doc = await svc.app.services.storage.db.collection('api_keys').findOne({ api_key: keys.api_key });
    expect(doc).to.not.equal(null);
    expect(JSON.stringify(doc)).to.not.include(keys.api_secret);
    expect(doc!.secret_hash).to.match(/^[0-9a-f]{64}$/);
  });

  it('is refused to a caller without System Manager (-32003), and changes nothing', async () => {
    const plain = await svc.userWithToken('plain', ['Token Verifier']);
    const before = await svc.app.services.storage.db.collection('api_keys').findOne({ user: 'svc@example.com' });
    const err = expectError(await svc.call(GENERATE, { user: 'svc@example.com' }, plain), -32003);
    expect(err.message).to.match(/System Manager/);
    const after = await svc.app.services.storage.db.collection('api_keys').findOne({ user: 'svc@example.com' });
    expect(after!.secret_hash).to.equal(before!.secret_hash);
    // not even for itself
    expectError(await svc.call(GENERATE, { user: 'plain' }, plain), -32003);
  });

  it('gives -32602 for bad params', async () => {
    expectError(await svc.call(GENERATE, {}), -32602);
    expectError(await svc.call(GENERATE, { user: '' }), -32602);
    expectError(await svc.call(GENERATE, { user: ['x'] }), -32602);
    expectError(await svc.call(GENERATE, { user: 'svc@example.com', extra: 1 }), -32602);
  });

  it('gives -32004 for an unknown user, and creates no key', async () => {
    const err = expectError(await svc.call(GENERATE, { user: 'ghost' }), -32004);
    expect(err.message).to.equal('User ghost not found');
    expect(await svc.app.services.storage.db.collection('api_keys').countDocuments({ user: 'ghost' })).to.equal(0);
  });

  it('under 20 concurrent calls for one user leaves one api_key and exactly one working secret', async () => {
    await svc.asAdmin('user.create', { name: 'racer' });
    const replies = await Promise.all(Array.from({ length: 20 }, () => svc.call(GENERATE, { user: 'racer' })));
    const keys = replies.map(expectResult);
    expect(new Set(keys.map((k) => k.api_key)).size).to.equal(1);
    expect(await svc.app.services.storage.db.collection('api_keys').countDocuments({ user: 'racer' })).to.equal(1);
    const working = [];
    for (const k of keys) {
      if ((await whoami(tokenOf(k))).status === 200) working.push(k);
    }
    expect(working).to.have.length(1);
  });
});
