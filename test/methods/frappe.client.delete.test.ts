import { expect } from 'chai';
import { useSharedService, bearer, expectError, expectResult } from '../harness.js';

describe('frappe.client.delete', () => {
  // Shared: every user here is its own.
  const svc = useSharedService();
  const users = () => svc.collection('users');

  describe('success', () => {
    it("deletes the user and answers null, as Frappe does; the user's token stops working", async () => {
      const { name, token } = await svc.newUserWithToken();
      expect(expectResult(await svc.call('frappe.client.delete', ['User', name]))).to.equal(null);
      expectError(await svc.post({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }, bearer(token)), -32001, 401);
    });
  });

  describe('not found', () => {
    it('answers -32004 for an unknown user or another doctype', async () => {
      expectError(await svc.call('frappe.client.delete', ['User', svc.unique('nobody')]), -32004);
      const name = await svc.newUser();
      expectError(await svc.call('frappe.client.delete', ['Customer', name]), -32004);
      expect(await users().countDocuments({ name })).to.equal(1);
    });
  });

  describe('permission', () => {
    it('is for System Managers (-32003), and deletes nothing then', async () => {
      const name = await svc.newUser();
      const { token } = await svc.newUserWithToken(['Auditor']);
      expect(expectError(await svc.call('frappe.client.delete', ['User', name], token), -32003).message).to.equal(
        'frappe.client.delete requires the role System Manager',
      );
      expect(await users().countDocuments({ name })).to.equal(1);
    });

    it('refuses to delete Administrator (-32003)', async () => {
      expectError(await svc.call('frappe.client.delete', ['User', 'Administrator']), -32003);
      expect(await users().countDocuments({ name: 'Administrator' })).to.equal(1);
    });
  });

  describe('bad params', () => {
    it('refuses a missing or malformed name, and unknown params (-32602)', async () => {
      expectError(await svc.call('frappe.client.delete', { doctype: 'User' }), -32602);
      expectError(await svc.call('frappe.client.delete', { doctype: 'User', name: { $gt: '' } }), -32602);
      expectError(await svc.call('frappe.client.delete', { doctype: 'User', name: 'has space' }), -32602);
      expectError(await svc.call('frappe.client.delete', { doctype: 'User', name: await svc.newUser(), force: 1 }), -32602);
    });
  });

  describe('storage', () => {
    it('removes the user and its key, and audits user.delete', async () => {
      const { name } = await svc.newUserWithToken();
      expectResult(await svc.call('frappe.client.delete', { doctype: 'User', name }));
      expect(await users().countDocuments({ name })).to.equal(0);
      expect(await svc.collection('api_keys').countDocuments({ user: name })).to.equal(0);
      const [entry] = expectResult(await svc.call('auth.audit.list', { user: name, action: 'user.delete' }));
      expect(entry).to.include({ actor: 'Administrator', target: name });
    });
  });
});
