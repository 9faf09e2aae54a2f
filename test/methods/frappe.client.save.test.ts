import { expect } from 'chai';
import { useSharedService, expectError, expectResult } from '../harness.js';

describe('frappe.client.save', () => {
  // Shared: every user here is its own.
  const svc = useSharedService();
  const users = () => svc.collection('users');
  const read = async (name: string) => expectResult(await svc.call('frappe.client.get', ['User', name]));

  describe('success', () => {
    it('writes back a document as read, with changes, and answers it', async () => {
      const name = await svc.newUser(['Auditor'], { full_name: 'Ada King' });
      const doc = await read(name);
      const saved = expectResult(await svc.call('frappe.client.save', { doc: { ...doc, full_name: 'Ada Lovelace', enabled: 0 } }));
      expect(saved).to.deep.include({ name, full_name: 'Ada Lovelace', first_name: 'Ada', last_name: 'Lovelace', enabled: 0, roles: [{ role: 'Auditor' }] });
      expect(expectResult(await svc.call('frappe.client.save', [JSON.stringify({ doctype: 'User', name, first_name: 'Augusta' })]))).to.include({
        full_name: 'Augusta Lovelace',
      });
    });
  });

  describe('not found', () => {
    it('answers -32004 for an unknown user or another doctype', async () => {
      expectError(await svc.call('frappe.client.save', { doc: { doctype: 'User', name: svc.unique('nobody'), full_name: 'X' } }), -32004);
      expectError(await svc.call('frappe.client.save', { doc: { doctype: 'Customer', name: await svc.newUser(), full_name: 'X' } }), -32004);
    });
  });

  describe('permission', () => {
    it('is for System Managers (-32003), and changes nothing then', async () => {
      const name = await svc.newUser([], { full_name: 'Kept' });
      const { token } = await svc.newUserWithToken(['Auditor']);
      expect(expectError(await svc.call('frappe.client.save', { doc: { doctype: 'User', name, full_name: 'Changed' } }, token), -32003).message).to.equal(
        'frappe.client.save requires the role System Manager',
      );
      expect((await users().findOne({ name }))!.full_name).to.equal('Kept');
    });

    it('keeps Administrator a System Manager (-32003)', async () => {
      expectError(await svc.call('frappe.client.save', { doc: { doctype: 'User', name: 'Administrator', roles: [] } }), -32003);
      expect((await users().findOne({ name: 'Administrator' }))!.roles).to.include('System Manager');
    });
  });

  describe('bad params', () => {
    it('refuses a document without doctype or name, a rename, and unknown fields, with the path (-32602)', async () => {
      const name = await svc.newUser();
      const path = async (doc: unknown) => expectError(await svc.call('frappe.client.save', { doc }), -32602).data[0].path;
      expect(await path({ name, full_name: 'X' })).to.equal('/doc/doctype');
      expect(await path({ doctype: 'User', full_name: 'X' })).to.equal('/doc/name');
      expect(await path({ doctype: 'User', name, email: svc.unique('other') })).to.equal('/doc/email'); // a rename by email
      expect(await path({ doctype: 'User', name, user_type: 'System User' })).to.equal('/doc/user_type');
      expect(await path('{')).to.equal('/doc');
    });
  });

  describe('storage', () => {
    it('writes what differs through user.update (audited), and nothing for a document sent back unchanged', async () => {
      const name = await svc.newUser([], { full_name: 'Before' });
      const doc = await read(name);
      expectResult(await svc.call('frappe.client.save', { doc: { ...doc, full_name: 'After' } }));
      expect((await users().findOne({ name }))!.full_name).to.equal('After');
      const audit = expectResult(await svc.call('auth.audit.list', { user: name }));
      expect(audit.map((e: { action: string }) => e.action)).to.deep.equal(['user.update', 'user.create']);
      const before = await svc.stored();
      expectResult(await svc.call('frappe.client.save', { doc: await read(name) }));
      expect(await svc.stored()).to.equal(before);
    });
  });
});
