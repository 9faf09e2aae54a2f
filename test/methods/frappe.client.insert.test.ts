import { expect } from 'chai';
import { useSharedService, expectError, expectResult } from '../harness.js';

describe('frappe.client.insert', () => {
  // Shared: every user here has a name of its own.
  const svc = useSharedService();
  const users = () => svc.collection('users');

  describe('success', () => {
    it("creates a user from Frappe's User document, as an object or its JSON text, and answers it", async () => {
      const name = svc.unique('insert');
      const doc = expectResult(
        await svc.call('frappe.client.insert', { doc: { doctype: 'User', email: name, first_name: 'Ada', last_name: 'King', roles: [{ role: 'Auditor' }] } }),
      );
      expect(doc).to.deep.include({ doctype: 'User', name, email: name, full_name: 'Ada King', enabled: 1, roles: [{ role: 'Auditor' }], api_key: null });
      const other = svc.unique('insert');
      expect(expectResult(await svc.call('frappe.client.insert', [JSON.stringify({ doctype: 'User', name: other, enabled: 0 })]))).to.include({
        name: other,
        enabled: 0,
      });
    });
  });

  describe('permission', () => {
    it('is for System Managers (-32003), and stores nothing then', async () => {
      const { token } = await svc.newUserWithToken(['Auditor']);
      const name = svc.unique('insert');
      expect(expectError(await svc.call('frappe.client.insert', { doc: { doctype: 'User', name } }, token), -32003).message).to.equal(
        'frappe.client.insert requires the role System Manager',
      );
      expect(await users().countDocuments({ name })).to.equal(0);
    });
  });

  describe('bad params', () => {
    it('refuses a document that is no object, unknown fields and bad values, with the path (-32602)', async () => {
      const path = async (doc: unknown) => expectError(await svc.call('frappe.client.insert', { doc }), -32602).data[0].path;
      expect(await path('not json')).to.equal('/doc');
      expect(await path([])).to.equal('/doc');
      expect(await path({ doctype: 'User', name: svc.unique('insert'), new_password: 'x' })).to.equal('/doc/new_password');
      expect(await path({ doctype: 'User', name: 'has space' })).to.equal('/doc/name');
      expect(await path({ doctype: 'User', name: svc.unique('insert'), roles: [{ role: 'Bad  Role' }] })).to.equal('/doc/roles/0');
      expectError(await svc.call('frappe.client.insert', {}), -32602);
    });
  });

  describe('not found', () => {
    it('answers another doctype, or none, with -32004', async () => {
      expectError(await svc.call('frappe.client.insert', { doc: { doctype: 'Customer', name: svc.unique('insert') } }), -32004);
      expectError(await svc.call('frappe.client.insert', { doc: { name: svc.unique('insert') } }), -32004);
    });
  });

  describe('storage', () => {
    it('stores the user as user.create would, audited; a taken name gets -32009 and keeps the stored user', async () => {
      const name = svc.unique('insert');
      expectResult(await svc.call('frappe.client.insert', { doc: { doctype: 'User', name, full_name: 'First', roles: ['Auditor'], enabled: 0 } }));
      const doc = (await users().findOne({ name }))!;
      expect(doc).to.include({ full_name: 'First', enabled: false });
      expect(doc.roles).to.deep.equal(['Auditor']);
      const [entry] = expectResult(await svc.call('auth.audit.list', { user: name }));
      expect(entry).to.include({ action: 'user.create', actor: 'Administrator', target: name });
      expectError(await svc.call('frappe.client.insert', { doc: { doctype: 'User', name, full_name: 'Second' } }), -32009);
      expect((await users().findOne({ name }))!.full_name).to.equal('First');
      expect(await users().countDocuments({ name })).to.equal(1);
    });
  });
});
