import { expect } from 'chai';
import { useSharedService, expectError, expectResult } from '../harness.js';

describe('frappe.auth.get_logged_user', () => {
  // Shared: its one user has a name of its own.
  const svc = useSharedService();

  describe('success', () => {
    it("returns the caller's user name as a bare string", async () => {
      const someone = svc.unique('someone');
      const token = await svc.userWithToken(someone);
      expect(expectResult(await svc.call('frappe.auth.get_logged_user', undefined, token))).to.equal(someone);
      expect(expectResult(await svc.call('frappe.auth.get_logged_user', {}))).to.equal('Administrator');
    });
  });

  describe('permission', () => {
    it('needs a valid token (401)', async () => {
      expectError(await svc.call('frappe.auth.get_logged_user', undefined, null), -32001, 401);
    });

    it('needs no role, but is refused to a token whose scopes do not include it (-32003)', async () => {
      const { token } = await svc.newUserWithToken([], { scopes: ['auth.verify'] });
      const err = expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32003);
      expect(err.message).to.equal("this token's scopes do not include frappe.auth.get_logged_user");
      const { name, token: scoped } = await svc.newUserWithToken([], { scopes: ['frappe.auth.*'] });
      expect(expectResult(await svc.call('frappe.auth.get_logged_user', {}, scoped))).to.equal(name);
    });
  });

  describe('bad params', () => {
    it('gives -32602 for any param', async () => {
      expectError(await svc.call('frappe.auth.get_logged_user', { user: 'x' }), -32602);
      expectError(await svc.call('frappe.auth.get_logged_user', ['x']), -32602);
    });
  });

  describe('storage', () => {
    it('answers the name as stored now, and writes no user, key or audit entry', async () => {
      const { name, token } = await svc.newUserWithToken();
      const before = await svc.stored();
      expect(expectResult(await svc.call('frappe.auth.get_logged_user', {}, token))).to.equal(name);
      expect(await svc.stored()).to.equal(before);
    });
  });
});
