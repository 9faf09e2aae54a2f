import { expect } from 'chai';
import { useSharedService, expectError, expectResult } from '../harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('auth.keys.get', () => {
  // Shared: every user here is its own (freshUser).
  const svc = useSharedService();
  const freshUser = (roles: string[] = []) => svc.newUser(roles);

  describe('success', () => {
    it("answers the key's metadata, never its secret or hash", async () => {
      const user = await freshUser();
      const expires = new Date(Date.now() + 3_600_000).toISOString();
      const keys = expectResult(await svc.call(GENERATE, { user, scopes: ['auth.verify'], expires_at: expires, ip_allowlist: ['2001:db8::/32'] }));
      const info = expectResult(await svc.call('auth.keys.get', { user }));
      expect(info).to.deep.equal({
        user,
        api_key: keys.api_key,
        scopes: ['auth.verify'],
        expires_at: expires,
        previous_valid_until: null,
        ratelimits: [],
        credits: null,
        ip_allowlist: ['2001:db8::/32'],
        last_used_at: null,
        created_at: info.created_at,
        rotated_at: info.rotated_at,
      });
      const doc = await svc.collection('api_keys').findOne({ api_key: keys.api_key });
      expect(JSON.stringify(info)).to.not.include(keys.api_secret).and.not.include(doc!.secret_hash);
    });

    it('answers by position too', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      expect(expectResult(await svc.call('auth.keys.get', [user])).api_key).to.equal(keys.api_key);
    });
  });

  describe('not found', () => {
    it('answers -32004 for a user without a key, or no such user', async () => {
      const user = await freshUser();
      expect(expectError(await svc.call('auth.keys.get', { user }), -32004).message).to.equal(`User ${user} has no API key`);
      expectError(await svc.call('auth.keys.get', { user: 'ghost@example.com' }), -32004);
    });
  });

  describe('permission', () => {
    it("lets a user without System Manager read its own key, not another's (-32003), even one that does not exist", async () => {
      const me = await svc.newUserWithToken();
      const other = await svc.newUserWithToken();
      expect(expectResult(await svc.call('auth.keys.get', { user: me.name }, me.token)).user).to.equal(me.name);
      const err = expectError(await svc.call('auth.keys.get', { user: other.name }, me.token), -32003);
      expect(err.message).to.equal("only System Managers may manage another user's key");
      expectError(await svc.call('auth.keys.get', { user: svc.unique('ghost') }, me.token), -32003);
    });

    it('is refused to a token whose scopes do not include it (-32003)', async () => {
      const { name, token } = await svc.newUserWithToken([], { scopes: ['auth.verify'] });
      expectError(await svc.call('auth.keys.get', { user: name }, token), -32003);
    });
  });

  describe('bad params', () => {
    it('refuses a missing, malformed or unknown param (-32602)', async () => {
      expectError(await svc.call('auth.keys.get', {}), -32602);
      expectError(await svc.call('auth.keys.get', { user: '' }), -32602);
      expectError(await svc.call('auth.keys.get', { user: { $ne: null } }), -32602);
      expectError(await svc.call('auth.keys.get', { user: 'x', secret: true }), -32602);
    });
  });

  describe('storage', () => {
    it('reads the key as stored at the time of the call, and writes nothing', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      await svc.collection('api_keys').updateOne({ api_key: keys.api_key }, { $set: { scopes: ['user.get'] } });
      const before = await svc.stored();
      expect(expectResult(await svc.call('auth.keys.get', { user })).scopes).to.deep.equal(['user.get']);
      expect(await svc.stored()).to.equal(before);
    });
  });
});
