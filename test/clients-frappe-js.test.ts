/**
 * The real frappe-js-sdk (npm), unchanged, against the real service, with
 * token auth: FrappeApp(url, {useToken: true, type: 'token', token}) sends
 * Authorization: token api_key:api_secret on every request (axios, under
 * Node). db() works on /api/resource/User and frappe.client.get_count;
 * call() on /api/method/<name>.
 */
import { expect } from 'chai';
import { FrappeApp } from 'frappe-js-sdk';
import { newApiSecret } from '../src/auth/token.js';
import { useService, ISSUED_SECRETS } from './harness.js';

/** What the SDK throws: the error body spread, with httpStatus and a message. */
interface FrappeError {
  httpStatus: number;
  exc_type?: string;
  exception: string;
  message: string;
}

async function rejection(promise: Promise<unknown>): Promise<FrappeError> {
  try {
    await promise;
  } catch (err) {
    return err as FrappeError;
  }
  throw new Error('expected the SDK to throw');
}

describe('frappe-js-sdk against the service', () => {
  const svc = useService();
  let app: FrappeApp;
  before(async () => {
    app = new FrappeApp(svc.url, { useToken: true, type: 'token', token: () => svc.adminToken });
    for (const name of ['ann@example.com', 'bob@example.com', 'cat@example.com']) {
      await svc.asAdmin('user.create', { name, full_name: `${name[0]!.toUpperCase()}${name.slice(1, 3)} Example`, enabled: name !== 'cat@example.com' });
    }
  });

  it('db().getDocList: fields, filters, orFilters, orderBy, limit, limit_start, asDict', async () => {
    const db = app.db();
    const names = await db.getDocList('User');
    expect(names).to.deep.include({ name: 'ann@example.com' });
    expect(names[0]).to.have.keys('name');
    const rows = await db.getDocList('User', {
      fields: ['name', 'email', 'first_name', 'enabled'],
      filters: [['name', 'like', '%@example.com']],
      orFilters: [
        ['enabled', '=', 1],
        ['name', '=', 'cat@example.com'],
      ],
      orderBy: { field: 'name', order: 'desc' },
      limit_start: 1,
      limit: 2,
    });
    expect(rows).to.deep.equal([
      { name: 'bob@example.com', email: 'bob@example.com', first_name: 'Bob', enabled: 1 },
      { name: 'ann@example.com', email: 'ann@example.com', first_name: 'Ann', enabled: 1 },
    ]);
    const arrays = await db.getDocList('User', { fields: ['name', 'enabled'], filters: [['name', '=', 'cat@example.com']], asDict: false });
    expect(arrays).to.deep.equal([['cat@example.com', 0]]);
  });

  it('db().getCount, with and without filters', async () => {
    const db = app.db();
    const all = await db.getCount('User');
    expect(all).to.equal(4); // the three, and Administrator
    expect(await db.getCount('User', [['enabled', '=', 0]])).to.equal(1);
    expect(await db.getCount('User', [['name', 'like', '%@example.com']])).to.equal(3);
  });

  it('db().createDoc, getDoc, updateDoc, deleteDoc', async () => {
    const db = app.db();
    const created = await db.createDoc('User', {
      email: 'js@example.com',
      first_name: 'Jay',
      last_name: 'Ess',
      roles: [{ role: 'Token Verifier' }],
      enabled: 1,
    });
    expect(created).to.include({ doctype: 'User', name: 'js@example.com', full_name: 'Jay Ess', enabled: 1 });
    expect(created.roles).to.deep.equal([{ role: 'Token Verifier' }]);
    const doc = await db.getDoc('User', 'js@example.com');
    expect(doc).to.deep.equal(created);
    const updated = await db.updateDoc('User', 'js@example.com', { first_name: 'Jane', last_name: 'Doe', enabled: 0, roles: ['Auditor'] });
    expect(updated).to.include({ full_name: 'Jane Doe', first_name: 'Jane', last_name: 'Doe', enabled: 0 });
    expect(updated.roles).to.deep.equal([{ role: 'Auditor' }]);
    expect(await db.deleteDoc('User', 'js@example.com')).to.deep.equal({ data: 'ok' });
    const gone = await rejection(db.getDoc('User', 'js@example.com'));
    expect(gone).to.include({ httpStatus: 404, exc_type: 'DoesNotExistError' });
  });

  it('call().get and call().post: methods of the table, frappe.client.* included', async () => {
    const call = app.call();
    expect(await call.get('frappe.auth.get_logged_user')).to.deep.equal({ message: 'Administrator' });
    const keys = (await call.post('frappe.core.doctype.user.user.generate_keys', { user: 'bob@example.com' })).message;
    ISSUED_SECRETS.add(keys.api_secret);
    expect(await call.get('frappe.client.get_value', { doctype: 'User', fieldname: 'api_key', filters: { name: 'bob@example.com' } })).to.deep.equal({
      message: { api_key: keys.api_key },
    });
    expect((await call.get('frappe.client.get', { doctype: 'User', name: 'bob@example.com' })).message).to.include({
      api_key: keys.api_key,
      full_name: 'Bob Example',
    });
    const set = (await call.post('frappe.client.set_value', { doctype: 'User', name: 'bob@example.com', fieldname: { last_name: 'Builder' } })).message;
    expect(set).to.include({ full_name: 'Bob Builder' });
    expect((await call.post('auth.verify', { token: `${keys.api_key}:${keys.api_secret}` })).message).to.include({ valid: true, user: 'bob@example.com' });
    expect(await call.get('frappe.client.get_count', { doctype: 'User', filters: { name: 'bob@example.com' } })).to.deep.equal({ message: 1 });
  });

  it('throws the error body on a bad token (401 AuthenticationError) and bad params (417 ValidationError)', async () => {
    const wrong = new FrappeApp(svc.url, { useToken: true, type: 'token', token: () => `${svc.adminToken.split(':')[0]}:${newApiSecret()}` });
    for (const attempt of [wrong.db().getDocList('User'), wrong.call().get('frappe.auth.get_logged_user'), wrong.db().getCount('User')]) {
      const err = await rejection(attempt);
      expect(err).to.include({ httpStatus: 401, exc_type: 'AuthenticationError' });
      expect(err.exception).to.match(/^frappe\.exceptions\.AuthenticationError: /);
    }
    const db = app.db();
    const bad = await rejection(db.createDoc('User', { name: 'bad name!' }));
    expect(bad).to.include({ httpStatus: 417, exc_type: 'ValidationError' });
    expect(bad.exception).to.include('/name: must match pattern');
    const field = await rejection(db.getDocList('User', { fields: ['password'] }));
    expect(field).to.include({ httpStatus: 417, exc_type: 'ValidationError' });
    const other = await rejection(db.getCount('Customer'));
    expect(other).to.include({ httpStatus: 404, exc_type: 'DoesNotExistError' });
    const verb = await rejection(app.call().get('frappe.client.delete', { doctype: 'User', name: 'ann@example.com' }));
    expect(verb).to.include({ httpStatus: 403, exc_type: 'PermissionError' });
  });
});
