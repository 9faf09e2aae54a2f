import { expect } from 'chai';
import { useSharedService, expectError, expectResult } from '../harness.js';

describe('frappe.client.get_value', () => {
  // Shared: every call names this file's own users.
  const svc = useSharedService();
  let ann: string;
  before(async () => {
    ann = await svc.newUser(['Auditor'], { full_name: 'Ann Lee' });
  });

  const value = async (params: Record<string, unknown>, token?: string) =>
    expectResult(await svc.call('frappe.client.get_value', { doctype: 'User', ...params }, token));

  describe('success', () => {
    it('answers fields of the first match as an object, a value, or a list of values', async () => {
      expect(await value({ fieldname: 'full_name', filters: ann })).to.deep.equal({ full_name: 'Ann Lee' });
      expect(await value({ fieldname: 'full_name', filters: { name: ann }, as_dict: false })).to.equal('Ann Lee');
      expect(await value({ fieldname: ['first_name', 'last_name', 'enabled'], filters: ann, as_dict: false })).to.deep.equal(['Ann', 'Lee', 1]);
      expect(await value({ fieldname: '["email", "roles"]', filters: [['name', '=', ann]] })).to.deep.equal({ email: ann, roles: [{ role: 'Auditor' }] });
      expect(expectResult(await svc.call('frappe.client.get_value', ['User', 'api_key', ann]))).to.deep.equal({ api_key: null });
    });

    it('answers {} or null when nothing matches', async () => {
      const nobody = svc.unique('nobody');
      expect(await value({ fieldname: 'name', filters: nobody })).to.deep.equal({});
      expect(await value({ fieldname: 'name', filters: nobody, as_dict: false })).to.equal(null);
    });
  });

  describe('permission', () => {
    it('is for System Managers (-32003)', async () => {
      const { token } = await svc.newUserWithToken(['Auditor']);
      expect(expectError(await svc.call('frappe.client.get_value', { doctype: 'User', fieldname: 'name', filters: ann }, token), -32003).message).to.equal(
        'frappe.client.get_value requires the role System Manager',
      );
    });
  });

  describe('bad params', () => {
    it('refuses unknown fields, a bad fieldname list, bad filters and a missing fieldname (-32602)', async () => {
      expectError(await svc.call('frappe.client.get_value', { doctype: 'User', fieldname: 'password', filters: ann }), -32602);
      expect(expectError(await svc.call('frappe.client.get_value', { doctype: 'User', fieldname: '["name"', filters: ann }), -32602).data[0].path).to.equal(
        '/fieldname',
      );
      expectError(await svc.call('frappe.client.get_value', { doctype: 'User', fieldname: 'name', filters: { name: { $ne: null } } }), -32602);
      expectError(await svc.call('frappe.client.get_value', { doctype: 'User', filters: ann }), -32602);
    });
  });

  describe('not found', () => {
    it('answers another doctype with -32004', async () => {
      expectError(await svc.call('frappe.client.get_value', ['Customer', 'name']), -32004);
    });
  });

  describe('storage', () => {
    it('reads the user and its api_key as stored now, and writes nothing', async () => {
      const keys = await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: ann });
      await svc.collection('users').updateOne({ name: ann }, { $set: { full_name: 'Ann Stored' } });
      const before = await svc.stored();
      expect(await value({ fieldname: ['full_name', 'api_key'], filters: ann })).to.deep.equal({ full_name: 'Ann Stored', api_key: keys.api_key });
      expect(await svc.stored()).to.equal(before);
    });
  });
});
