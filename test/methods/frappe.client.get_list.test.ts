import { expect } from 'chai';
import { useSharedService, expectError, expectResult } from '../harness.js';

describe('frappe.client.get_list', () => {
  // Shared: every list is filtered to this file's own users.
  const svc = useSharedService();
  let ann: string;
  let bob: string;
  let mine: unknown[];
  before(async () => {
    ann = await svc.newUser(['Auditor'], { full_name: 'Ann Lee' });
    bob = await svc.newUser([], { full_name: 'Bob', enabled: false });
    await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: ann });
    mine = ['name', 'in', [ann, bob]];
  });

  const list = async (params: Record<string, unknown>, token?: string) =>
    expectResult(
      await svc.call('frappe.client.get_list', { doctype: 'User', ...params, filters: [mine, ...((params.filters as unknown[] | undefined) ?? [])] }, token),
    );

  describe('success', () => {
    it("answers only names by default, in Frappe's shape, sorted as asked", async () => {
      expect(await list({ order_by: 'name asc' })).to.deep.equal([{ name: ann }, { name: bob }].sort((x, y) => (x.name < y.name ? -1 : 1)));
      const rows = await list({ fields: ['name', 'full_name', 'enabled', 'roles', 'api_key'], filters: [['enabled', '=', 0]] });
      expect(rows).to.deep.equal([{ name: bob, full_name: 'Bob', enabled: 0, roles: [], api_key: null }]);
    });

    it('takes fields "*", as_dict false, filters on roles, and a page', async () => {
      const [row] = await list({ fields: '*', filters: [['Has Role', 'role', '=', 'Auditor']] });
      expect(row).to.include({ name: ann, email: ann, first_name: 'Ann', last_name: 'Lee', enabled: 1 });
      expect(row.api_key).to.match(/^tak_/);
      expect(await list({ fields: ['full_name'], filters: [['name', '=', ann]], as_dict: false })).to.deep.equal([['Ann Lee']]);
      expect(await list({ order_by: 'name desc', limit_start: 1, limit_page_length: 1 })).to.have.length(1);
    });
  });

  describe('permission', () => {
    it('is for System Managers (-32003)', async () => {
      const { token } = await svc.newUserWithToken(['Auditor']);
      expect(expectError(await svc.call('frappe.client.get_list', ['User'], token), -32003).message).to.equal(
        'frappe.client.get_list requires the role System Manager',
      );
    });
  });

  describe('bad params', () => {
    it('refuses group_by, unknown fields, bad filters and pages, with the path (-32602)', async () => {
      const path = async (params: Record<string, unknown>) =>
        expectError(await svc.call('frappe.client.get_list', { doctype: 'User', ...params }), -32602).data[0].path;
      expect(await path({ group_by: 'enabled' })).to.equal('/group_by');
      expect(await path({ fields: ['name', 'api_secret'] })).to.match(/^\/fields/);
      expect(await path({ filters: [['name', '=', { $ne: null }]] })).to.equal('/filters/0/2');
      expect(await path({ limit_page_length: -1 })).to.equal('/limit_page_length');
      expectError(await svc.call('frappe.client.get_list', {}), -32602);
    });
  });

  describe('not found', () => {
    it('answers another doctype with -32004', async () => {
      expectError(await svc.call('frappe.client.get_list', ['Customer']), -32004);
    });
  });

  describe('storage', () => {
    it('reads the users as stored now, and writes nothing', async () => {
      await svc.collection('users').updateOne({ name: bob }, { $set: { full_name: 'Bob Stored' } });
      const before = await svc.stored();
      expect(await list({ fields: ['full_name'], filters: [['name', '=', bob]] })).to.deep.equal([{ full_name: 'Bob Stored' }]);
      expect(await svc.stored()).to.equal(before);
    });
  });
});
