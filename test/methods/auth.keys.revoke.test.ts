import { expect } from 'chai';
import { useSharedService, bearer, tokenOf, expectError, expectResult } from '../harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('auth.keys.revoke', () => {
  // Shared: every user here is its own (freshUser).
  const svc = useSharedService();

  /** A fresh user each test, so no test leans on another's key. */
  const freshUser = (roles: string[] = []) => svc.newUser(roles);
  const whoami = (token: string) => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));
  const works = async (token: string) => expect(expectResult(await whoami(token))).to.be.a('string');
  const fails = async (token: string) => expectError(await whoami(token), -32001, 401);
  const keyDoc = (apiKey: string) => svc.collection('api_keys').findOne({ api_key: apiKey });

  describe('success', () => {
    it('ends the key pair at once, even cached; the next generate_keys makes a new api_key', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user, grace_seconds: 0 }));
      await works(tokenOf(keys));
      const result = expectResult(await svc.call('auth.keys.revoke', { user }));
      expect(result).to.deep.equal({ user, api_key: keys.api_key, revoked: true });
      await fails(tokenOf(keys));
      expect(await keyDoc(keys.api_key)).to.equal(null);
      expectError(await svc.call('auth.keys.revoke', { user }), -32004);
      const fresh = expectResult(await svc.call(GENERATE, { user }));
      expect(fresh.api_key).to.not.equal(keys.api_key);
      await works(tokenOf(fresh));
      await fails(tokenOf(keys));
    });

    it('also ends a secret still in its grace period', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      expectResult(await svc.call(GENERATE, { user, grace_seconds: 600 }));
      await works(tokenOf(first));
      expectResult(await svc.call('auth.keys.revoke', { user }));
      await fails(tokenOf(first));
    });
  });

  describe('permission', () => {
    it("lets a user revoke its own key, but not another's (-32003, nothing changes)", async () => {
      const me = await freshUser();
      const other = await freshUser();
      const mine = tokenOf(expectResult(await svc.call(GENERATE, { user: me })));
      const theirs = tokenOf(expectResult(await svc.call(GENERATE, { user: other })));
      expectError(await svc.call('auth.keys.revoke', { user: other }, mine), -32003);
      await works(theirs);
      expectResult(await svc.call('auth.keys.revoke', { user: me }, mine));
      await fails(mine);
    });

    it("refuses another user's key before looking it up: an unknown user gets -32003 too, not -32004", async () => {
      const { token } = await svc.newUserWithToken();
      expectError(await svc.call('auth.keys.revoke', { user: svc.unique('ghost') }, token), -32003);
    });
  });

  describe('bad params', () => {
    it('refuses bad params (-32602)', async () => {
      expectError(await svc.call('auth.keys.revoke', {}), -32602);
      expectError(await svc.call('auth.keys.revoke', { user: { $ne: '' } }), -32602);
    });
  });

  describe('storage', () => {
    it("removes that user's key document only, and audits keys.revoke with the api_key", async () => {
      const { name, token } = await svc.newUserWithToken();
      const { name: neighbour } = await svc.newUserWithToken();
      const apiKey = token.split(':')[0]!;
      const kept = await svc.collection('api_keys').findOne({ user: neighbour });
      expectResult(await svc.call('auth.keys.revoke', { user: name }));
      expect(await svc.collection('api_keys').countDocuments({ user: name })).to.equal(0);
      expect(await svc.collection('api_keys').findOne({ user: neighbour })).to.deep.equal(kept);
      expect(await svc.collection('users').countDocuments({ name })).to.equal(1); // the user stays
      const [entry] = expectResult(await svc.call('auth.audit.list', { user: name, action: 'keys.revoke' }));
      expect(entry).to.include({ actor: 'Administrator', target: name, api_key: apiKey });
    });
  });
});
