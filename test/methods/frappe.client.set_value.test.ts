import { expect } from 'chai';
import { useSharedService, expectError, expectResult } from '../harness.js';

describe('frappe.client.set_value', () => {
  // Shared: every user here is its own.
  const svc = useSharedService();
  const users = () => svc.collection('users');

  describe('success', () => {
    it("changes one field, or several, and answers the user as Frappe's document", async () => {
      const name = await svc.newUser([], { full_name: 'Ada King' });
      const doc = expectResult(await svc.call('frappe.client.set_value', ['User', name, 'last_name', 'Lovelace']));
      expect(doc).to.include({ doctype: 'User', name, full_name: 'Ada Lovelace', first_name: 'Ada', last_name: 'Lovelace', enabled: 1 });
      const both = expectResult(await svc.call('frappe.client.set_value', { doctype: 'User', name, fieldname: { enabled: 0, roles: [{ role: 'Auditor' }] } }));
      expect(both).to.deep.include({ enabled: 0, roles: [{ role: 'Auditor' }] });
    });
  });

  describe('not found', () => {
    it('answers -32004 for an unknown user or another doctype', async () => {
      expectError(await svc.call('frappe.client.set_value', ['User', svc.unique('nobody'), 'full_name', 'X']), -32004);
      expectError(await svc.call('frappe.client.set_value', ['Customer', await svc.newUser(), 'full_name', 'X']), -32004);
    });
  });

  describe('permission', () => {
    it('is for System Managers (-32003), and changes nothing then', async () => {
      const name = await svc.newUser([], { full_name: 'Kept' });
      const { token } = await svc.newUserWithToken(['Auditor']);
      expect(expectError(await svc.call('frappe.client.set_value', ['User', name, 'full_name', 'Changed'], token), -32003).message).to.equal(
        'frappe.client.set_value requires the role System Manager',
      );
      expect((await users().findOne({ name }))!.full_name).to.equal('Kept');
    });

    it('keeps Administrator enabled and a System Manager (-32003)', async () => {
      expectError(await svc.call('frappe.client.set_value', ['User', 'Administrator', 'enabled', 0]), -32003);
      expect((await users().findOne({ name: 'Administrator' }))!.enabled).to.equal(true);
    });
  });

  describe('bad params', () => {
    it('refuses standard fields, unknown fields, a missing value and bad values, with the path (-32602)', async () => {
      const name = await svc.newUser();
      const path = async (params: unknown[]) => expectError(await svc.call('frappe.client.set_value', params), -32602).data[0].path;
      expect(await path(['User', name, 'creation', '2020-01-01'])).to.equal('/fieldname');
      expect(await path(['User', name, 'full_name'])).to.equal('/value');
      expect(await path(['User', name, 'password', 'x'])).to.equal('/password');
      expect(await path(['User', name, 'enabled', 'maybe'])).to.equal('/enabled');
      expect(await path(['User', 'has space', 'full_name', 'X'])).to.equal('/name');
    });
  });

  describe('storage', () => {
    it('writes the change through user.update (modified_at moves, audited), and writes nothing when nothing changes', async () => {
      const name = await svc.newUser([], { full_name: 'Before' });
      const created = (await users().findOne({ name }))!;
      expectResult(await svc.call('frappe.client.set_value', ['User', name, 'full_name', 'After']));
      const doc = (await users().findOne({ name }))!;
      expect(doc.full_name).to.equal('After');
      expect(doc.modified_at.getTime()).to.be.at.least(created.modified_at.getTime());
      const audit = expectResult(await svc.call('auth.audit.list', { user: name }));
      expect(audit.map((e: { action: string }) => e.action)).to.deep.equal(['user.update', 'user.create']);
      const before = await svc.stored();
      expect(expectResult(await svc.call('frappe.client.set_value', ['User', name, 'full_name', 'After']))).to.include({ full_name: 'After' });
      expect(await svc.stored()).to.equal(before);
    });
  });
});
