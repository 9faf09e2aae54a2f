/**
 * The real Python frappe-client (PyPI frappe-client 0.1.0.dev0, module
 * frappeclient), unchanged, against the real service: each test runs
 * test/clients/frappe_client_driver.py, which makes
 * FrappeClient(url, api_key=..., api_secret=...) (HTTP Basic, as the client
 * sends a token) and calls its methods in order; the results come back as
 * JSON. The venv is .venv-clients/ (scripts/client-venv.sh; made here if
 * missing).
 */
import { expect } from 'chai';
import { newApiSecret } from '../src/auth/token.js';
import { startService, ISSUED_SECRETS, tokenOf, type TestService } from './harness.js';
import { clientPython, runPython } from './clients/python.js';

interface Step {
  op: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
}
type Outcome = { ok: any } | { error: string; module: string; message: string };

describe('frappe-client (Python, from PyPI) against the service', function () {
  // The first run may build the venv (pip install): up to a few minutes, once.
  this.timeout(300_000);
  let svc: TestService;
  let key: string;
  let secret: string;

  before(async () => {
    clientPython();
    svc = await startService();
    [key, secret] = svc.adminToken.split(':') as [string, string];
    for (const name of ['ann@example.com', 'bob@example.com', 'abe@example.com']) {
      await svc.asAdmin('user.create', {
        name,
        full_name: `${name[0]!.toUpperCase()}${name.slice(1, 3)} Example`,
        roles: name === 'bob@example.com' ? ['Auditor'] : [],
      });
    }
  });
  after(async () => svc.close());

  /** Runs the steps in one Python process with the given pair (Administrator's by default). */
  async function drive(steps: Step[], pair: { api_key: string; api_secret: string } = { api_key: key, api_secret: secret }): Promise<Outcome[]> {
    const results = await runPython<Outcome[]>('frappe_client_driver.py', { url: svc.url, ...pair, steps });
    expect(results).to.have.length(steps.length);
    for (const r of results) {
      const issued = (r as { ok?: { api_secret?: unknown } }).ok?.api_secret;
      if (typeof issued === 'string') ISSUED_SECRETS.add(issued);
    }
    return results;
  }

  const ok = (r: Outcome | undefined, label = ''): any => {
    expect(r, label).to.have.property('ok');
    return (r as { ok: unknown }).ok;
  };
  /** The client's FrappeException, carrying the reply's `exc` (a JSON list with Frappe's exception line). */
  const raised = (r: Outcome | undefined, excType: string, label = ''): string => {
    expect(r, label).to.include({ error: 'FrappeException', module: 'frappeclient.frappeclient' });
    const [line] = JSON.parse((r as { message: string }).message) as string[];
    expect(line, label).to.match(new RegExp(`^frappe\\.exceptions\\.${excType}: `));
    return line!;
  };

  it('get_api and post_api: who am I, generate_keys; post_request: generate_keys and auth.verify with the token in the body', async () => {
    await svc.asAdmin('user.create', { name: 'svc@example.com', roles: ['Token Verifier'] });
    const [me, keys, again] = await drive([
      { op: 'get_api', args: ['frappe.auth.get_logged_user'] },
      { op: 'post_api', args: ['frappe.core.doctype.user.user.generate_keys', { user: 'svc@example.com' }] },
      { op: 'post_request', args: [{ cmd: 'frappe.core.doctype.user.user.generate_keys', user: 'svc@example.com' }] },
    ]);
    expect(ok(me)).to.equal('Administrator');
    const first = ok(keys, 'post_api generate_keys');
    const second = ok(again, 'post_request generate_keys');
    expect(first.api_key).to.match(/^tak_/);
    expect(second.api_key, 'the key stays, the secret changes').to.equal(first.api_key);
    expect(second.api_secret).to.not.equal(first.api_secret);
    const [whoami, verified, old] = await drive(
      [
        { op: 'get_api', args: ['frappe.auth.get_logged_user'] },
        { op: 'post_request', args: [{ cmd: 'auth.verify' }] },
        { op: 'post_request', args: [{ cmd: 'auth.verify', token: tokenOf(first) }] },
      ],
      second,
    );
    expect(ok(whoami)).to.equal('svc@example.com');
    expect(ok(verified)).to.include({ valid: true, user: 'svc@example.com', api_key: first.api_key });
    // A Token Verifier may check another token: the replaced secret is no longer good.
    expect(ok(old)).to.deep.equal({ valid: false });
  });

  it('get_list: the client\'s defaults (fields "*"), and fields, filters, limits and order_by, in Frappe\'s shape', async () => {
    const [all, some, roles] = await drive([
      { op: 'get_list', args: ['User'] },
      {
        op: 'get_list',
        args: ['User'],
        kwargs: {
          fields: ['name', 'email', 'first_name', 'enabled'],
          filters: { name: ['like', 'a%@example.com'] },
          limit_start: 0,
          limit_page_length: 20,
          order_by: 'name desc',
        },
      },
      { op: 'get_list', args: ['User'], kwargs: { fields: ['name', 'roles'], filters: [['Has Role', 'role', '=', 'Auditor']] } },
    ]);
    const rows = ok(all) as any[];
    expect(rows.length).to.be.at.least(4);
    expect(rows.find((r) => r.name === 'ann@example.com')).to.include({
      email: 'ann@example.com',
      first_name: 'Ann',
      last_name: 'Example',
      full_name: 'Ann Example',
      enabled: 1,
    });
    expect(ok(some)).to.deep.equal([
      { name: 'ann@example.com', email: 'ann@example.com', first_name: 'Ann', enabled: 1 },
      { name: 'abe@example.com', email: 'abe@example.com', first_name: 'Abe', enabled: 1 },
    ]);
    expect(ok(roles)).to.deep.equal([{ name: 'bob@example.com', roles: [{ role: 'Auditor' }] }]);
  });

  it('insert, get_doc, update (the document it got back), get_value, set_value, delete', async () => {
    const name = 'new@example.com';
    const [inserted, doc] = await drive([
      { op: 'insert', args: [{ doctype: 'User', email: name, first_name: 'New', last_name: 'Person', enabled: 1, roles: [{ role: 'Token Verifier' }] }] },
      { op: 'get_doc', args: ['User', name] },
    ]);
    expect(ok(inserted)).to.include({ doctype: 'User', name, email: name, first_name: 'New', last_name: 'Person', full_name: 'New Person', enabled: 1 });
    expect(ok(inserted).roles).to.deep.equal([{ role: 'Token Verifier' }]);
    const read = ok(doc);
    expect(read).to.deep.include({ name, full_name: 'New Person', roles: [{ role: 'Token Verifier' }] });
    expect(JSON.stringify(read)).to.not.match(/secret|hash/i);

    const keys = await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: name });
    const [updated, one, several, apiKey, first, setOne, setMany, setRoles] = await drive([
      { op: 'update', args: [{ ...read, full_name: 'Renamed Person', enabled: 0 }] },
      { op: 'get_value', args: ['User', 'full_name', name] },
      { op: 'get_value', args: ['User', ['name', 'enabled'], { name }] },
      { op: 'get_value', args: ['User', 'api_key', { name }] },
      { op: 'get_value', args: ['User'] },
      { op: 'set_value', args: ['User', name, 'first_name', 'Newer'] },
      { op: 'set_value', args: ['User', name, 'enabled', 1] },
      { op: 'set_value', args: ['User', name, 'roles', '[{"role": "Auditor"}, {"role": "Token Verifier"}]'] },
    ]);
    expect(ok(updated)).to.include({ name, full_name: 'Renamed Person', first_name: 'Renamed', enabled: 0 });
    expect(ok(one)).to.deep.equal({ full_name: 'Renamed Person' });
    expect(ok(several)).to.deep.equal({ name, enabled: 0 });
    // Frappe shows the api_key on the User document; the secret never.
    expect(ok(apiKey)).to.deep.equal({ api_key: keys.api_key });
    expect(ok(first), 'no filters: the first user by name').to.deep.equal({ name: 'Administrator' });
    // set_value compares with the stored user: a new first_name keeps the last name.
    expect(ok(setOne)).to.include({ first_name: 'Newer', last_name: 'Person', full_name: 'Newer Person', api_key: keys.api_key });
    expect(ok(setMany)).to.include({ enabled: 1 });
    expect(ok(setRoles).roles).to.deep.equal([{ role: 'Auditor' }, { role: 'Token Verifier' }]);

    const [deleted, gone, again] = await drive([
      { op: 'delete', args: ['User', name] },
      { op: 'get_doc', args: ['User', name] },
      { op: 'get_value', args: ['User', 'name', name] },
    ]);
    expect(ok(deleted)).to.equal(null);
    expect(raised(gone, 'DoesNotExistError')).to.include(`User ${name} not found`);
    expect(ok(again), 'get_value finds nothing: {}').to.deep.equal({});
    expect(await svc.call('auth.verify', { token: tokenOf(keys) }).then((r) => r.body.result)).to.deep.equal({ valid: false });
  });

  it("insert_many through post_request (the client's own insert_many calls frappe.as_json, which it never imports)", async () => {
    const [broken, many] = await drive([
      { op: 'insert_many', args: [[{ doctype: 'User', name: 'm1@example.com' }]] },
      {
        op: 'post_request',
        args: [
          {
            cmd: 'frappe.client.insert_many',
            docs: [
              { doctype: 'User', name: 'm1@example.com' },
              { doctype: 'User', email: 'm2@example.com', first_name: 'M' },
            ],
          },
        ],
      },
    ]);
    expect(broken).to.include({ error: 'NameError' });
    expect(ok(many)).to.deep.equal(['m1@example.com', 'm2@example.com']);
  });

  it('raises FrappeException on a bad token, with AuthenticationError, whatever it calls', async () => {
    const bad = { api_key: key, api_secret: newApiSecret() };
    const results = await drive(
      [
        { op: 'get_api', args: ['frappe.auth.get_logged_user'] },
        { op: 'get_list', args: ['User'] },
        { op: 'get_doc', args: ['User', 'ann@example.com'] },
        { op: 'delete', args: ['User', 'ann@example.com'] },
      ],
      bad,
    );
    for (const r of results) raised(r, 'AuthenticationError');
    expect((await svc.asAdmin('user.get', { name: 'ann@example.com' })).name, 'nothing deleted').to.equal('ann@example.com');
  });

  it('raises FrappeException on bad params, unknown doctypes and methods, duplicates, and a refused delete', async () => {
    const results = await drive([
      { op: 'insert', args: [{ doctype: 'User', name: 'bad name!' }] },
      { op: 'insert', args: [{ doctype: 'User', name: 'ann@example.com' }] },
      { op: 'insert', args: [{ doctype: 'User', name: 'pw@example.com', new_password: 'x' }] },
      { op: 'get_list', args: ['Customer'] },
      { op: 'get_value', args: ['Customer', 'name', 'x'] },
      { op: 'set_value', args: ['User', 'ann@example.com', 'creation', '2020-01-01'] },
      { op: 'delete', args: ['User', 'Administrator'] },
      { op: 'rename_doc', args: ['User', 'ann@example.com', 'anne@example.com'] },
      { op: 'get_api', args: ['auth.verify', { token: svc.adminToken }] },
    ]);
    expect(raised(results[0], 'ValidationError')).to.include('/name: must match pattern');
    expect(raised(results[1], 'DuplicateEntryError')).to.include('User ann@example.com already exists');
    expect(raised(results[2], 'ValidationError')).to.include('/new_password: is not a field of User here');
    expect(raised(results[3], 'DoesNotExistError')).to.include('DocType Customer not found');
    expect(raised(results[4], 'DoesNotExistError')).to.include('DocType Customer not found');
    expect(raised(results[5], 'ValidationError')).to.include('Cannot edit standard fields');
    expect(raised(results[6], 'PermissionError')).to.include('Administrator cannot be deleted');
    expect(raised(results[7], 'DoesNotExistError')).to.include('Method not found: frappe.client.rename_doc');
    // get_api puts params in the URL: a token there is refused, never read.
    expect(raised(results[8], 'ValidationError')).to.include('POST body');
  });
});
