/**
 * frappe.client.* (src/methods/frappe-client.ts) over JSON-RPC, where every
 * result is checked against its schema by the harness: Frappe's parameter
 * names and result shapes for User, DoesNotExistError for any other
 * doctype, and the same roles, scopes, containment, Administrator guard and
 * audit as user.create / user.update / user.delete, which they delegate to.
 * The clients themselves drive these in test/clients-*.test.ts; what each
 * method does on its own is in test/methods/frappe.client.<name>.test.ts.
 */
import { expect } from 'chai';
import { useService, expectError, expectResult, tokenOf } from './harness.js';
import { methodTable } from '../src/methods/index.js';

const SM = 'System Manager';
const FRAPPE_CLIENT = methodTable.filter((m) => m.name.startsWith('frappe.client.'));
/** A minimal valid call of each, on doctype `doctype`. */
const CALLS: Record<string, (doctype: string) => unknown> = {
  'frappe.client.get_list': (doctype) => ({ doctype }),
  'frappe.client.get_count': (doctype) => ({ doctype }),
  'frappe.client.get': (doctype) => ({ doctype, name: 'Administrator' }),
  'frappe.client.get_value': (doctype) => ({ doctype, fieldname: 'name' }),
  'frappe.client.set_value': (doctype) => ({ doctype, name: 'Administrator', fieldname: 'full_name', value: 'X' }),
  'frappe.client.insert': (doctype) => ({ doc: { doctype, name: 'never@example.com' } }),
  'frappe.client.insert_many': (doctype) => ({ docs: [{ doctype, name: 'never@example.com' }] }),
  'frappe.client.save': (doctype) => ({ doc: { doctype, name: 'Administrator', full_name: 'X' } }),
  'frappe.client.delete': (doctype) => ({ doctype, name: 'never@example.com' }),
};

describe('frappe.client.* for User', () => {
  const svc = useService();
  let n = 0;
  const fresh = () => `fc${++n}@example.com`;
  before(async () => {
    await svc.asAdmin('user.create', { name: 'ann@example.com', full_name: 'Ann Lee', roles: ['Auditor'] });
    await svc.asAdmin('user.create', { name: 'bob', full_name: 'Bob', enabled: false });
  });

  const ok = async (method: string, params: unknown, token?: string) => expectResult(await svc.call(method, params, token));
  /** A new user with `roles` and a token limited to `scopes`. */
  const scopedToken = async (roles: string[], scopes: string[]) => {
    const name = fresh();
    await svc.asAdmin('user.create', { name, roles });
    return tokenOf(await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: name, scopes }));
  };

  it('are all in the method table, each with a minimal call here', () => {
    expect(FRAPPE_CLIENT.map((m) => m.name).sort()).to.deep.equal(Object.keys(CALLS).sort());
    for (const m of FRAPPE_CLIENT) expect(m.roles, m.name).to.deep.equal([SM]);
  });

  it('answer any other doctype with DoesNotExistError (-32004), and change nothing', async () => {
    for (const m of FRAPPE_CLIENT) {
      const error = expectError(await svc.call(m.name, CALLS[m.name]!('Customer')), -32004);
      expect(error.message, m.name).to.equal('DocType Customer not found: this service holds only User');
    }
    expectError(await svc.call('user.get', { name: 'never@example.com' }), -32004);
    expect((await ok('user.get', { name: 'Administrator' })).full_name).to.equal('Administrator');
  });

  it('get_list, get_count and get_value read with Frappe names; filters on roles and dates work', async () => {
    const rows = await ok('frappe.client.get_list', { doctype: 'User', fields: '*', order_by: 'name asc' });
    expect(rows.map((r: { name: string }) => r.name)).to.deep.equal(['Administrator', 'ann@example.com', 'bob']);
    expect(rows[0]).to.have.keys('name', 'email', 'first_name', 'last_name', 'full_name', 'enabled', 'creation', 'modified', 'api_key');
    expect(rows[2]).to.include({ name: 'bob', email: null, enabled: 0, api_key: null });
    expect(await ok('frappe.client.get_list', ['User', ['name', 'roles'], { enabled: 0 }])).to.deep.equal([{ name: 'bob', roles: [] }]);
    expect(
      await ok('frappe.client.get_list', { doctype: 'User', fields: ['name'], filters: { creation: ['>', '2000-01-01'] }, limit_page_length: 1 }),
    ).to.have.length(1);
    expect(await ok('frappe.client.get_count', { doctype: 'User' })).to.equal(3);
    expect(await ok('frappe.client.get_count', { doctype: 'User', filters: [['Has Role', 'role', '=', SM]] })).to.equal(1);
    expect(await ok('frappe.client.get_value', ['User', ['first_name', 'last_name'], 'ann@example.com', false])).to.deep.equal(['Ann', 'Lee']);
    expect(await ok('frappe.client.get_value', { doctype: 'User', fieldname: '["email"]', filters: { name: 'ann@example.com' } })).to.deep.equal({
      email: 'ann@example.com',
    });
    expect(await ok('frappe.client.get_value', { doctype: 'User', fieldname: 'name', filters: { name: 'nobody' }, as_dict: false })).to.equal(null);
    expect(await ok('frappe.client.get_value', { doctype: 'User', fieldname: 'name', filters: { name: 'nobody' } })).to.deep.equal({});
    expectError(await svc.call('frappe.client.get_value', { doctype: 'User', fieldname: 'password' }), -32602);
    expectError(await svc.call('frappe.client.get_list', { doctype: 'User', group_by: 'enabled' }), -32602);
  });

  it('insert, set_value, save and delete write through user.create/update/delete: same checks, same audit', async () => {
    const name = fresh();
    const inserted = await ok('frappe.client.insert', {
      doc: JSON.stringify({ doctype: 'User', email: name, first_name: 'Ada', last_name: 'King', roles: ['Auditor'], enabled: 0 }),
    });
    expect(inserted).to.include({ name, full_name: 'Ada King', enabled: 0, api_key: null });
    // set_value compares with the stored user: a new last_name keeps the first.
    expect(await ok('frappe.client.set_value', ['User', name, 'last_name', 'Lovelace'])).to.include({ full_name: 'Ada Lovelace' });
    expect(await ok('frappe.client.set_value', ['User', name, { enabled: 1, roles: [{ role: SM }] }])).to.deep.include({ enabled: 1, roles: [{ role: SM }] });
    // save: the document as read, one field changed.
    const doc = await ok('frappe.client.get', ['User', name]);
    expect(await ok('frappe.client.save', { doc: { ...doc, full_name: 'Countess' } })).to.include({
      full_name: 'Countess',
      first_name: 'Countess',
      last_name: null,
    });
    expect(await ok('frappe.client.save', { doc: { ...doc, full_name: 'Countess', first_name: 'Augusta' } })).to.include({ full_name: 'Augusta Lovelace' });
    const unchanged = await ok('frappe.client.save', { doc: await ok('frappe.client.get', ['User', name]) });
    expect(unchanged.full_name).to.equal('Augusta Lovelace');
    expect(await ok('frappe.client.delete', ['User', name])).to.equal(null);
    const audit = await ok('auth.audit.list', { user: name });
    expect(audit.map((e: { action: string }) => e.action)).to.deep.equal([
      'user.delete',
      'user.update',
      'user.update',
      'user.update',
      'user.update',
      'user.create',
    ]);
  });

  it('refuse what user.* refuses: Administrator guarded, renames, standard fields, keys, unknown fields', async () => {
    expectError(await svc.call('frappe.client.delete', ['User', 'Administrator']), -32003);
    expectError(await svc.call('frappe.client.set_value', ['User', 'Administrator', 'enabled', 0]), -32003);
    expectError(await svc.call('frappe.client.set_value', ['User', 'Administrator', 'roles', []]), -32003);
    const errors = [
      await svc.call('frappe.client.set_value', ['User', 'bob', 'modified', '2020-01-01']),
      await svc.call('frappe.client.set_value', ['User', 'bob', 'email', 'other@example.com']),
      await svc.call('frappe.client.set_value', ['User', 'bob', 'api_key', 'tak_aaaaaaaaaaaaaaaaaaaa']),
      await svc.call('frappe.client.set_value', ['User', 'bob', 'full_name']),
      await svc.call('frappe.client.save', { doc: { doctype: 'User', name: 'bob', user_type: 'System User' } }),
      await svc.call('frappe.client.insert', { doc: { doctype: 'User', name: fresh(), roles: [{ role: 'Bad  Role' }] } }),
      await svc.call('frappe.client.insert', { doc: { name: fresh() } }),
    ].map((r) => expectError(r, r.body?.error?.code));
    expect(errors.map((e) => [e.code, e.data?.[0]?.path])).to.deep.equal([
      [-32602, '/fieldname'],
      [-32602, '/name'],
      [-32602, '/api_key'],
      [-32602, '/value'],
      [-32602, '/doc/user_type'],
      [-32602, '/doc/roles/0'],
      [-32004, undefined],
    ]);
    expectError(await svc.call('frappe.client.insert', { doc: { doctype: 'User', name: 'bob' } }), -32009);
    expectError(await svc.call('frappe.client.set_value', ['User', 'nobody', 'full_name', 'X']), -32004);
  });

  it('need the role System Manager, and a scope that names them (user.* does not)', async () => {
    const plain = await svc.userWithToken(fresh(), ['Auditor']);
    for (const m of FRAPPE_CLIENT) expectError(await svc.call(m.name, CALLS[m.name]!('User'), plain), -32003);
    const userScoped = await scopedToken([SM], ['user.*']);
    expectError(await svc.call('frappe.client.get', ['User', 'bob'], userScoped), -32003);
    const scoped = await scopedToken([SM], ['frappe.client.get_list']);
    expectResult(await svc.call('frappe.client.get_list', ['User'], scoped));
    expectError(await svc.call('frappe.client.get_count', ['User'], scoped), -32003);
  });

  it('containment: a restricted token may not grant roles or enable a user through them, and writes nothing then', async () => {
    const me = await scopedToken([SM], ['frappe.client.*']);
    const target = fresh();
    await svc.asAdmin('user.create', { name: target, roles: ['Auditor'], enabled: false });
    const refusals = [
      await svc.call('frappe.client.set_value', ['User', target, 'roles', [SM]], me),
      await svc.call('frappe.client.set_value', ['User', target, 'enabled', 1], me),
      await svc.call('frappe.client.save', { doc: { doctype: 'User', name: target, roles: [{ role: SM }] } }, me),
      await svc.call('frappe.client.insert', { doc: { doctype: 'User', name: fresh(), roles: [SM] } }, me),
      await svc.call(
        'frappe.client.insert_many',
        {
          docs: [
            { doctype: 'User', name: fresh() },
            { doctype: 'User', name: fresh(), roles: ['Auditor'] },
          ],
        },
        me,
      ),
    ];
    for (const r of refusals) expect(expectError(r, -32003).message).to.match(/needs a token without scopes, expiry or IP allowlist/);
    expect(await ok('user.get', { name: target }))
      .to.include({ enabled: false })
      .and.deep.include({ roles: ['Auditor'] });
    expectError(await svc.call('user.get', { name: `fc${n - 1}@example.com` }), -32004);
    // What it may do: a document sent back with its roles and enabled as they are, a new full_name, disabling.
    const doc = await ok('frappe.client.get', ['User', target], me);
    expect(await ok('frappe.client.save', { doc: { ...doc, full_name: 'Renamed' } }, me)).to.include({ full_name: 'Renamed' });
    expect(await ok('frappe.client.insert', { doc: { doctype: 'User', name: fresh() } }, me)).to.deep.include({ roles: [] });
  });
});
