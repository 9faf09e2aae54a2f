import { expect } from 'chai';
import { useSharedService, expectError, expectResult } from '../harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('auth.keys.list', () => {
  // Shared: it lists only its own users' keys, or compares pages of the whole list with each other.
  const svc = useSharedService();

  describe('success', () => {
    it('lists keys by user name, a page at a time', async () => {
      const all = expectResult(await svc.call('auth.keys.list', { limit: 1000 }));
      const names = all.map((k: { user: string }) => k.user);
      expect(names).to.deep.equal([...names].sort());
      const page = expectResult(await svc.call('auth.keys.list', { start: 1, limit: 2 }));
      expect(page).to.deep.equal(all.slice(1, 3));
      expect(expectResult(await svc.call('auth.keys.list', { user: 'nobody-here' }))).to.deep.equal([]);
    });

    it("lists one user's key by user, as auth.keys.get shows it, and nothing for a user without one", async () => {
      const { name } = await svc.newUserWithToken([], { scopes: ['auth.verify'] });
      await svc.asAdmin('auth.keys.update', { user: name, ip_allowlist: ['198.51.100.0/24'] });
      const listed = expectResult(await svc.call('auth.keys.list', { user: name }));
      expect(listed).to.deep.equal([expectResult(await svc.call('auth.keys.get', { user: name }))]);
      expect(listed[0].scopes).to.deep.equal(['auth.verify']);
      expect(listed[0].ip_allowlist).to.deep.equal(['198.51.100.0/24']);
      expect(expectResult(await svc.call('auth.keys.list', { user: await svc.newUser() }))).to.deep.equal([]);
    });
  });

  describe('permission', () => {
    it("is for System Managers only (-32003), even listing only the caller's own key", async () => {
      const { name, token } = await svc.newUserWithToken(['Token Verifier']);
      const err = expectError(await svc.call('auth.keys.list', {}, token), -32003);
      expect(err.message).to.equal('auth.keys.list requires the role System Manager');
      expectError(await svc.call('auth.keys.list', { user: name }, token), -32003);
    });
  });

  describe('bad params', () => {
    it('refuses bad pages, users and unknown params (-32602)', async () => {
      expectError(await svc.call('auth.keys.list', { limit: 0 }), -32602);
      expectError(await svc.call('auth.keys.list', { limit: 1001 }), -32602);
      expectError(await svc.call('auth.keys.list', { start: -1 }), -32602);
      expectError(await svc.call('auth.keys.list', { user: { $gt: '' } }), -32602);
      expectError(await svc.call('auth.keys.list', { api_key: 'x' }), -32602);
    });
  });

  describe('storage', () => {
    it('reads the keys as stored, never a secret or hash, and writes nothing', async () => {
      const user = await svc.newUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      await svc.collection('api_keys').updateOne({ api_key: keys.api_key }, { $set: { scopes: ['user.list'] } });
      const before = await svc.stored();
      const [info] = expectResult(await svc.call('auth.keys.list', { user }));
      expect(info).to.include({ user, api_key: keys.api_key });
      expect(info.scopes).to.deep.equal(['user.list']);
      const doc = await svc.collection('api_keys').findOne({ api_key: keys.api_key });
      expect(JSON.stringify(info)).to.not.include(keys.api_secret).and.not.include(doc!.secret_hash);
      expect(await svc.stored()).to.equal(before);
    });
  });
});
