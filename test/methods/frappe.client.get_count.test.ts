import { expect } from 'chai';
import { useSharedService, expectError, expectResult } from '../harness.js';

describe('frappe.client.get_count', () => {
  // Shared: every count is filtered to this file's own users.
  const svc = useSharedService();
  let names: string[];
  before(async () => {
    names = [await svc.newUser(['Auditor']), await svc.newUser([], { enabled: false }), await svc.newUser()];
  });

  const count = async (filters: unknown[] = [], token?: string) =>
    expectResult(await svc.call('frappe.client.get_count', { doctype: 'User', filters: [['name', 'in', names], ...filters] }, token));

  describe('success', () => {
    it('counts the users matching filters, by name or by position', async () => {
      expect(await count()).to.equal(3);
      expect(await count([['enabled', '=', 0]])).to.equal(1);
      expect(await count([['Has Role', 'role', '=', 'Auditor']])).to.equal(1);
      expect(expectResult(await svc.call('frappe.client.get_count', ['User', { name: names[0] }]))).to.equal(1);
      expect(expectResult(await svc.call('frappe.client.get_count', { doctype: 'User' })))
        .to.be.a('number')
        .and.at.least(4);
    });
  });

  describe('permission', () => {
    it('is for System Managers (-32003)', async () => {
      const { token } = await svc.newUserWithToken(['Token Verifier']);
      expect(expectError(await svc.call('frappe.client.get_count', ['User'], token), -32003).message).to.equal(
        'frappe.client.get_count requires the role System Manager',
      );
    });
  });

  describe('bad params', () => {
    it('refuses unknown fields and operators, and unknown params (-32602)', async () => {
      expectError(await svc.call('frappe.client.get_count', { doctype: 'User', filters: [['secret', '=', 'x']] }), -32602);
      expectError(await svc.call('frappe.client.get_count', { doctype: 'User', filters: { name: ['$regex', '.'] } }), -32602);
      expectError(await svc.call('frappe.client.get_count', { doctype: 'User', limit: 1 }), -32602);
      expectError(await svc.call('frappe.client.get_count', {}), -32602);
    });
  });

  describe('not found', () => {
    it('answers another doctype with -32004', async () => {
      expectError(await svc.call('frappe.client.get_count', ['Customer']), -32004);
    });
  });

  describe('storage', () => {
    it('counts what is stored now, and writes nothing', async () => {
      await svc.collection('users').updateOne({ name: names[2] }, { $set: { enabled: false } });
      const before = await svc.stored();
      expect(await count([['enabled', '=', 0]])).to.equal(2);
      expect(await svc.stored()).to.equal(before);
    });
  });
});
