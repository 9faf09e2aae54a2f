import { expect } from 'chai';
import { useService, expectError, expectResult } from '../harness.js';

describe('frappe.client.insert_many', () => {
  // A fresh service: it counts every user, and needs the name bob taken.
  const svc = useService();
  let n = 0;
  const fresh = () => `fc${++n}@example.com`;
  before(async () => {
    await svc.asAdmin('user.create', { name: 'bob', full_name: 'Bob', enabled: false });
  });

  const ok = async (method: string, params: unknown, token?: string) => expectResult(await svc.call(method, params, token));

  describe('success', () => {
    it('creates the users in order, from a list or its JSON text, and answers their names', async () => {
      const [a, b, c] = [fresh(), fresh(), fresh()];
      expect(
        await ok('frappe.client.insert_many', {
          docs: [
            { doctype: 'User', name: b, roles: ['Auditor'] },
            { doctype: 'User', email: a, first_name: 'A' },
          ],
        }),
      ).to.deep.equal([b, a]);
      expect(await ok('frappe.client.insert_many', [JSON.stringify([{ doctype: 'User', name: c, enabled: 0 }])])).to.deep.equal([c]);
      expect(await ok('user.get', { name: a })).to.include({ full_name: 'A', enabled: true });
      expect(await ok('user.get', { name: c })).to.include({ enabled: false });
    });
  });

  describe('permission', () => {
    it('is for System Managers (-32003), and writes nothing then', async () => {
      const plain = await svc.userWithToken('auditor@example.com', ['Auditor']);
      const name = fresh();
      expectError(await svc.call('frappe.client.insert_many', { docs: [{ doctype: 'User', name }] }, plain), -32003);
      expect(await svc.collection('users').countDocuments({ name })).to.equal(0);
    });
  });

  describe('bad params', () => {
    it('refuses docs that are no list of documents, with the path (-32602)', async () => {
      const path = async (params: unknown) => expectError(await svc.call('frappe.client.insert_many', params), -32602).data[0].path;
      expect(await path({ docs: 'not json' })).to.equal('/docs');
      expect(await path({ docs: '{"doctype": "User"}' })).to.equal('/docs');
      expect(await path({ docs: [{ doctype: 'User', name: fresh() }, 5] })).to.equal('/docs/1');
      expect(await path({ docs: [{ doctype: 'User', name: fresh(), enabled: 'maybe' }] })).to.equal('/docs/0/enabled');
      expectError(await svc.call('frappe.client.insert_many', {}), -32602);
    });
  });

  describe('storage', () => {
    it('insert_many checks every document before writing any: one bad, a duplicate, or a taken name writes nothing', async () => {
      const [a, b] = [fresh(), fresh()];
      const count = async (): Promise<number> => ok('frappe.client.get_count', { doctype: 'User' });
      const before = await count();
      expectError(
        await svc.call('frappe.client.insert_many', {
          docs: [
            { doctype: 'User', name: a },
            { doctype: 'User', name: 'bad name' },
          ],
        }),
        -32602,
      );
      expectError(
        await svc.call('frappe.client.insert_many', {
          docs: [
            { doctype: 'User', name: a },
            { doctype: 'User', name: a },
          ],
        }),
        -32009,
      );
      expectError(
        await svc.call('frappe.client.insert_many', {
          docs: [
            { doctype: 'User', name: a },
            { doctype: 'User', name: 'bob' },
          ],
        }),
        -32009,
      );
      expectError(
        await svc.call('frappe.client.insert_many', {
          docs: [
            { doctype: 'User', name: a },
            { doctype: 'Customer', name: b },
          ],
        }),
        -32004,
      );
      expectError(
        await svc.call('frappe.client.insert_many', { docs: Array.from({ length: 201 }, (_, i) => ({ doctype: 'User', name: `many${i}` })) }),
        -32602,
      );
      expect(await count()).to.equal(before);
      expect(
        await ok('frappe.client.insert_many', {
          docs: JSON.stringify([
            { doctype: 'User', name: a },
            { doctype: 'User', name: b },
          ]),
        }),
      ).to.deep.equal([a, b]);
      expect(await count()).to.equal(before + 2);
    });

    it('stores each user as user.create would, and audits each creation', async () => {
      const [a, b] = [fresh(), fresh()];
      expectResult(
        await svc.call('frappe.client.insert_many', {
          docs: [
            { doctype: 'User', name: a, full_name: 'First One', roles: [{ role: 'Auditor' }] },
            { doctype: 'User', name: b },
          ],
        }),
      );
      const docA = await svc.collection('users').findOne({ name: a });
      expect(docA).to.include({ full_name: 'First One', enabled: true });
      expect(docA!.roles).to.deep.equal(['Auditor']);
      expect(await svc.collection('users').countDocuments({ name: b })).to.equal(1);
      for (const name of [a, b]) {
        const [entry] = await ok('auth.audit.list', { user: name });
        expect(entry).to.include({ action: 'user.create', actor: 'Administrator', target: name });
      }
    });
  });
});
