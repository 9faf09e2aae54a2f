import { expect } from 'chai';
import { useService, expectError, expectResult } from '../harness.js';

describe('frappe.client.get', () => {
  // A fresh service: filters here match the first user of the whole database.
  const svc = useService();
  before(async () => {
    await svc.asAdmin('user.create', { name: 'ann@example.com', full_name: 'Ann Lee', roles: ['Auditor'] });
    await svc.asAdmin('user.create', { name: 'bob', full_name: 'Bob', enabled: false });
  });

  const ok = async (method: string, params: unknown, token?: string) => expectResult(await svc.call(method, params, token));

  describe('success', () => {
    it("get: Frappe's User document with the api_key, never the secret; by name or by filters", async () => {
      const keys = await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: 'ann@example.com' });
      const doc = await ok('frappe.client.get', ['User', 'ann@example.com']);
      expect(doc).to.deep.equal({
        doctype: 'User',
        name: 'ann@example.com',
        email: 'ann@example.com',
        first_name: 'Ann',
        last_name: 'Lee',
        full_name: 'Ann Lee',
        enabled: 1,
        roles: [{ role: 'Auditor' }],
        api_key: keys.api_key,
        creation: doc.creation,
        modified: doc.modified,
      });
      expect(JSON.stringify(doc)).to.not.include(keys.api_secret);
      expect(await ok('frappe.client.get', { doctype: 'User', filters: [['Has Role', 'role', '=', 'Auditor']] })).to.deep.equal(doc);
      expect(await ok('frappe.client.get', { doctype: 'User', filters: 'ann@example.com' })).to.deep.equal(doc);
      expect((await ok('frappe.client.get', { doctype: 'User', name: 'bob' })).api_key).to.equal(null);
      expectError(await svc.call('frappe.client.get', { doctype: 'User', filters: { full_name: 'Nobody' } }), -32004);
      expectError(await svc.call('frappe.client.get', { doctype: 'User' }), -32602);
    });
  });

  describe('not found', () => {
    it('answers -32004 for an unknown user or another doctype', async () => {
      expect(expectError(await svc.call('frappe.client.get', ['User', 'nobody@example.com']), -32004).message).to.equal('User nobody@example.com not found');
      expectError(await svc.call('frappe.client.get', ['ToDo', 'ann@example.com']), -32004);
    });
  });

  describe('permission', () => {
    it('is for System Managers (-32003), with a scope that names it', async () => {
      const plain = await svc.userWithToken('auditor@example.com', ['Auditor']);
      expect(expectError(await svc.call('frappe.client.get', ['User', 'ann@example.com'], plain), -32003).message).to.equal(
        'frappe.client.get requires the role System Manager',
      );
      await svc.asAdmin('user.create', { name: 'scoped@example.com', roles: ['System Manager'] });
      const keys = await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: 'scoped@example.com', scopes: ['frappe.client.get_list'] });
      expectError(await svc.call('frappe.client.get', ['User', 'ann@example.com'], `${keys.api_key}:${keys.api_secret}`), -32003);
    });
  });

  describe('bad params', () => {
    it('refuses a bad name, filters with an unknown field, and unknown params (-32602)', async () => {
      expectError(await svc.call('frappe.client.get', { doctype: 'User', name: 'has space' }), -32602);
      expectError(await svc.call('frappe.client.get', { doctype: 'User', filters: { password: 'x' } }), -32602);
      expectError(await svc.call('frappe.client.get', { doctype: 'User', name: 'bob', fields: ['*'] }), -32602);
      expectError(await svc.call('frappe.client.get', { name: 'bob' }), -32602);
    });
  });

  describe('storage', () => {
    it('reads the user and its key as stored now, and writes nothing', async () => {
      await svc.collection('users').updateOne({ name: 'bob' }, { $set: { full_name: 'Robert Stored', roles: ['Viewer'] } });
      const before = await svc.stored();
      expect(await ok('frappe.client.get', ['User', 'bob'])).to.deep.include({
        full_name: 'Robert Stored',
        first_name: 'Robert',
        last_name: 'Stored',
        roles: [{ role: 'Viewer' }],
      });
      expect(await svc.stored()).to.equal(before);
    });
  });
});
