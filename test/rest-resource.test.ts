/**
 * Frappe's REST door, /api/resource/User: list, read, create, update and
 * delete, each through a method of the table (user.list, user.get, ...), so
 * roles and schemas apply as on JSON-RPC. Users are in Frappe's shape
 * (store/frappe-user.ts): enabled 1/0, roles as Has Role rows, email,
 * first_name, last_name, creation, modified.
 */
import { expect } from 'chai';
import http from 'node:http';
import { useService, rest, expectFrappeError, ISSUED_SECRETS } from './harness.js';

const json = (value: unknown) => ({ type: 'application/json', body: JSON.stringify(value) });
const form = (fields: Record<string, string>) => ({ type: 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() });

const USER_KEYS = ['doctype', 'name', 'email', 'first_name', 'last_name', 'full_name', 'roles', 'enabled', 'creation', 'modified'];

describe('REST door: /api/resource/User', () => {
  const svc = useService();
  let plain: string;
  before(async () => {
    plain = await svc.userWithToken('plain@example.com', ['Token Verifier']);
    for (const name of ['ann', 'bob', 'cat', 'dan', 'eve'])
      await svc.asAdmin('user.create', { name, full_name: name.toUpperCase(), roles: name === 'eve' ? ['Auditor'] : [] });
  });

  describe('GET list', () => {
    it('answers {"data": [...]} with only names by default, as Frappe', async () => {
      const reply = await rest(svc, 'GET', '/api/resource/User');
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body).to.have.keys('data');
      expect(reply.body.data).to.deep.include({ name: 'ann' });
      for (const row of reply.body.data) expect(row).to.have.keys('name');
      // /api/v1/ and a trailing slash are the same route
      expect((await rest(svc, 'GET', '/api/v1/resource/User/')).body).to.deep.equal(reply.body);
    });

    it('pages with limit_start and limit_page_length, and the alias limit', async () => {
      const all = (await rest(svc, 'GET', '/api/resource/User?limit_page_length=0')).body.data.map((u: any) => u.name);
      expect(all).to.include.members(['Administrator', 'ann', 'bob', 'eve', 'plain@example.com']);
      const page = await rest(svc, 'GET', '/api/resource/User?limit_start=1&limit_page_length=2');
      expect(page.body.data.map((u: any) => u.name)).to.deep.equal(all.slice(1, 3));
      const alias = await rest(svc, 'GET', '/api/resource/User?limit=3');
      expect(alias.body.data).to.have.length(3);
      const both = await rest(svc, 'GET', '/api/resource/User?limit=3&limit_page_length=1');
      expect(both.body.data, 'limit_page_length wins, as in document_list').to.have.length(1);
    });

    it('serves 20 by default and reads limit_page_length=0 as the largest page', async () => {
      for (let i = 0; i < 20; i++) await svc.asAdmin('user.create', { name: `bulk${String(i).padStart(2, '0')}` });
      expect((await rest(svc, 'GET', '/api/resource/User')).body.data).to.have.length(20);
      expect((await rest(svc, 'GET', '/api/resource/User?limit_page_length=0')).body.data.length).to.be.above(20);
    });

    it('passes fields, filters, or_filters, order_by and as_dict through, JSON-decoded', async () => {
      const fields = encodeURIComponent('["name", "full_name"]');
      const filters = encodeURIComponent('[["name", "in", ["ann", "bob", "eve"]]]');
      const reply = await rest(svc, 'GET', `/api/resource/User?fields=${fields}&filters=${filters}&order_by=name%20desc`);
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body.data).to.deep.equal([
        { name: 'eve', full_name: 'EVE' },
        { name: 'bob', full_name: 'BOB' },
        { name: 'ann', full_name: 'ANN' },
      ]);
      const dict = await rest(
        svc,
        'GET',
        `/api/resource/User?filters=${encodeURIComponent('{"full_name": "CAT"}')}&or_filters=${encodeURIComponent('[["name", "=", "cat"], ["name", "=", "dan"]]')}`,
      );
      expect(dict.body.data).to.deep.equal([{ name: 'cat' }]);
      const rows = await rest(svc, 'GET', `/api/resource/User?fields=${fields}&filters=${encodeURIComponent('{"name": "ann"}')}&as_dict=False`);
      expect(rows.body.data).to.deep.equal([['ann', 'ANN']]);
      const star = await rest(svc, 'GET', `/api/resource/User?fields=%22*%22&filters=${encodeURIComponent('{"name": "ann"}')}`);
      expect(star.body.data[0]).to.deep.equal({
        ...star.body.data[0],
        name: 'ann',
        email: null,
        first_name: 'ANN',
        last_name: null,
        full_name: 'ANN',
        enabled: 1,
      });
      expect(star.body.data[0]).to.have.keys('name', 'email', 'first_name', 'last_name', 'full_name', 'enabled', 'creation', 'modified');
    });

    it('ignores empty parameters, as Frappe: filters=, filters=[], order_by=, fields=[]', async () => {
      const plainList = (await rest(svc, 'GET', '/api/resource/User')).body;
      for (const query of ['filters=', 'filters=%5B%5D', 'filters=%7B%7D', 'order_by=', 'fields=%5B%5D', 'or_filters=%5B%5D', 'limit_start=', 'debug=1']) {
        const reply = await rest(svc, 'GET', `/api/resource/User?${query}`);
        expect(reply.status, `${query}: ${reply.text}`).to.equal(200);
        expect(reply.body, query).to.deep.equal(plainList);
      }
    });

    it('ignores parameters it does not read, as document_list does (frappe.call passes get_list only the names it takes)', async () => {
      const names = (await rest(svc, 'GET', '/api/resource/User?fields=%5B%22name%22%5D')).body;
      for (const query of ['sneaky=1', 'with_comment_count=1', 'run_method=x', '__proto__=%7B%7D', 'limit_start=0&view=Report&sneaky=%5B%5D']) {
        const reply = await rest(svc, 'GET', `/api/resource/User?fields=%5B%22name%22%5D&${query}`);
        expect(reply.status, `${query}: ${reply.text}`).to.equal(200);
        expect(reply.body, query).to.deep.equal(names);
      }
      // Deliberately refused: it would change what the rows mean.
      expectFrappeError(await rest(svc, 'GET', '/api/resource/User?group_by=name&sneaky=1'), 417, 'ValidationError');
    });

    it('refuses bad list params with 417 and the path under the name the client sent', async () => {
      expect(expectFrappeError(await rest(svc, 'GET', '/api/resource/User?limit_start=-1'), 417, 'ValidationError')).to.deep.equal([
        '/limit_start: must be >= 0',
      ]);
      expect(expectFrappeError(await rest(svc, 'GET', '/api/resource/User?limit_page_length=x'), 417, 'ValidationError')).to.deep.equal([
        '/limit_page_length: must be integer',
      ]);
      expect(expectFrappeError(await rest(svc, 'GET', '/api/resource/User?group_by=name'), 417, 'ValidationError')).to.deep.equal([
        '/group_by: is not a known parameter',
      ]);
      const smuggled = await rest(svc, 'GET', `/api/resource/User?filters=${encodeURIComponent('{"name": {"$ne": null}}')}`);
      expectFrappeError(smuggled, 417, 'ValidationError');
      const unknownField = await rest(svc, 'GET', `/api/resource/User?filters=${encodeURIComponent('[["secret_hash", "=", "x"]]')}`);
      expectFrappeError(unknownField, 417, 'ValidationError');
    });

    it('takes a JSON body on GET too (Frappe merges it into form_dict)', async () => {
      // fetch() refuses a GET with a body; node:http sends one.
      const url = new URL(`${svc.url}/api/resource/User`);
      const body = JSON.stringify({ filters: { name: 'bob' }, fields: ['name', 'enabled'] });
      const text = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'GET',
            headers: { authorization: `token ${svc.adminToken}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            let data = '';
            res.on('data', (d: Buffer) => (data += d.toString()));
            res.on('end', () => resolve(data));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(JSON.parse(text).data).to.deep.equal([{ name: 'bob', enabled: 1 }]);
    });
  });

  describe('GET one', () => {
    it('answers {"data": doc} with the doctype, URL-decoded, never a secret', async () => {
      await svc.asAdmin('user.create', { name: 'a+b@example.com', full_name: 'A B' });
      const keys = await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: 'a+b@example.com' });
      const reply = await rest(svc, 'GET', '/api/resource/User/a%2Bb%40example.com');
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body.data).to.have.keys(USER_KEYS);
      expect(reply.body.data).to.include({ doctype: 'User', name: 'a+b@example.com', full_name: 'A B' });
      expect(reply.text).to.not.include(keys.api_secret);
      expect(reply.text).to.not.include(keys.api_key);
      expect(reply.text).to.not.match(/secret|hash/i);
      expect((await rest(svc, 'GET', '/api/v1/resource/User/a+b@example.com/')).body).to.deep.equal(reply.body);
    });

    it("ignores the fields and filters frappe-client's get_doc sends, and any other name read_doc does not read", async () => {
      const reply = await rest(svc, 'GET', `/api/resource/User/ann?fields=${encodeURIComponent('["name"]')}&filters=%7B%7D`);
      expect(reply.body.data).to.have.keys(USER_KEYS);
      for (const query of ['sneaky=1', 'expand_links=1&view=x', 'name=bob', '__proto__=%7B%7D']) {
        const other = await rest(svc, 'GET', `/api/resource/User/ann?${query}`);
        expect(other.status, `${query}: ${other.text}`).to.equal(200);
        expect(other.body, query).to.deep.equal(reply.body);
      }
      // read_doc would run a document method; User has none, and a silent read would lie.
      expectFrappeError(await rest(svc, 'GET', '/api/resource/User/ann?run_method=x'), 417, 'ValidationError');
    });

    it('answers 404 DoesNotExistError for a user that does not exist', async () => {
      const [message] = expectFrappeError(await rest(svc, 'GET', '/api/resource/User/nobody'), 404, 'DoesNotExistError');
      expect(message).to.match(/nobody/);
    });
  });

  describe('POST create', () => {
    it('creates from a JSON body', async () => {
      const reply = await rest(svc, 'POST', '/api/resource/User', json({ name: 'fay', full_name: 'Fay', roles: ['Token Verifier'] }));
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body.data).to.include({ doctype: 'User', name: 'fay', full_name: 'Fay', enabled: 1 });
      expect(reply.body.data.roles).to.deep.equal([{ role: 'Token Verifier' }]);
    });

    it("creates from a form field data=<json> (frappe-client's insert), dropping doctype", async () => {
      const reply = await rest(svc, 'POST', '/api/resource/User', form({ data: JSON.stringify({ doctype: 'User', name: 'gus', enabled: false }) }));
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body.data).to.include({ name: 'gus', enabled: 0 });
    });

    it('reads Check fields sent as 0/1 in a JSON document, in a JSON body or in data=<json>', async () => {
      const json0 = await rest(svc, 'POST', '/api/resource/User', json({ name: 'chk0', enabled: 0 }));
      expect(json0.status, json0.text).to.equal(200);
      expect(json0.body.data).to.include({ name: 'chk0', enabled: 0 });
      const data1 = await rest(svc, 'POST', '/api/resource/User', form({ data: JSON.stringify({ doctype: 'User', name: 'chk1', enabled: 1 }) }));
      expect(data1.status, data1.text).to.equal(200);
      expect(data1.body.data).to.include({ name: 'chk1', enabled: 1 });
      expect(expectFrappeError(await rest(svc, 'POST', '/api/resource/User', json({ name: 'chk2', enabled: 2 })), 417, 'ValidationError')).to.deep.equal([
        '/enabled: must be boolean',
      ]);
    });

    it('creates from plain form fields, typed by the schema', async () => {
      const reply = await rest(svc, 'POST', '/api/resource/User', form({ name: 'hal', roles: '["A"]', enabled: '1' }));
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body.data).to.include({ name: 'hal', enabled: 1 });
      expect(reply.body.data.roles).to.deep.equal([{ role: 'A' }]);
    });

    it('refuses a duplicate with 409 DuplicateEntryError', async () => {
      const [message] = expectFrappeError(await rest(svc, 'POST', '/api/resource/User', json({ name: 'ann' })), 409, 'DuplicateEntryError');
      expect(message).to.match(/already exists/);
    });

    it('refuses bad documents with 417 and the paths', async () => {
      expect(expectFrappeError(await rest(svc, 'POST', '/api/resource/User', json({ name: 'ivy', roles: 'A' })), 417, 'ValidationError')).to.deep.equal([
        '/roles: must be array',
      ]);
      expect(expectFrappeError(await rest(svc, 'POST', '/api/resource/User', json({ name: 'ivy', api_secret: 'x' })), 417, 'ValidationError')).to.deep.equal([
        '/api_secret: is issued by frappe.core.doctype.user.user.generate_keys, never set, and never shown again',
      ]);
      expect(expectFrappeError(await rest(svc, 'POST', '/api/resource/User', json({ name: 'ivy', new_password: 'x' })), 417, 'ValidationError')[0]).to.match(
        /^\/new_password: is not a field of User here/,
      );
      expect(expectFrappeError(await rest(svc, 'POST', '/api/resource/User', form({ data: '{nope' })), 417, 'ValidationError')).to.deep.equal([
        '/data: must be a JSON object',
      ]);
      expect(expectFrappeError(await rest(svc, 'POST', '/api/resource/User', form({ data: '{}', name: 'x' })), 417, 'ValidationError')).to.deep.equal([
        '/name: is not read when the document is sent in `data`',
      ]);
      expectFrappeError(await rest(svc, 'POST', '/api/resource/User', json({})), 417, 'ValidationError');
    });
  });

  describe('PUT update', () => {
    it('updates from a JSON body, the name taken from the URL', async () => {
      const reply = await rest(svc, 'PUT', '/api/resource/User/bob', json({ full_name: 'Robert' }));
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body.data).to.include({ doctype: 'User', name: 'bob', full_name: 'Robert' });
    });

    it('reads Check fields sent as 0/1: {"enabled": 0} in a JSON body or data=<json>', async () => {
      const off = await rest(svc, 'PUT', '/api/resource/User/dan', json({ enabled: 0 }));
      expect(off.status, off.text).to.equal(200);
      expect(off.body.data).to.include({ name: 'dan', enabled: 0 });
      const on = await rest(svc, 'PUT', '/api/resource/User/dan', form({ data: JSON.stringify({ doctype: 'User', name: 'dan', enabled: 1 }) }));
      expect(on.status, on.text).to.equal(200);
      expect(on.body.data).to.include({ name: 'dan', enabled: 1 });
    });

    it('takes back a whole document it served (doctype, name, email and timestamps are bookkeeping)', async () => {
      const doc = (await rest(svc, 'GET', '/api/resource/User/cat')).body.data;
      doc.full_name = 'Catherine';
      doc.roles = [{ role: 'Token Verifier' }];
      const reply = await rest(svc, 'PUT', '/api/resource/User/cat/', form({ data: JSON.stringify(doc) }));
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body.data).to.include({ name: 'cat', full_name: 'Catherine', first_name: 'Catherine' });
      expect(reply.body.data.roles).to.deep.equal([{ role: 'Token Verifier' }]);
      expect(reply.body.data.creation).to.equal(doc.creation);
    });

    it("reads Frappe's fields: roles as Has Role rows or names, first_name and last_name, email as the name", async () => {
      const rows = await rest(
        svc,
        'PUT',
        '/api/resource/User/cat',
        json({ roles: [{ doctype: 'Has Role', role: 'Auditor' }, 'Token Verifier'], first_name: 'Cat', last_name: 'Stevens' }),
      );
      expect(rows.status, rows.text).to.equal(200);
      expect(rows.body.data).to.include({ full_name: 'Cat Stevens', first_name: 'Cat', last_name: 'Stevens' });
      expect(rows.body.data.roles).to.deep.equal([{ role: 'Auditor' }, { role: 'Token Verifier' }]);
      // Only one half: the other is in the stored full_name, which this route does not read.
      expect(expectFrappeError(await rest(svc, 'PUT', '/api/resource/User/cat', json({ first_name: 'Kit' })), 417, 'ValidationError')[0]).to.match(
        /^\/last_name: is required with it/,
      );
      const created = await rest(
        svc,
        'POST',
        '/api/resource/User',
        json({ doctype: 'User', email: 'kim@example.com', first_name: 'Kim', last_name: 'Lee', enabled: 1 }),
      );
      expect(created.status, created.text).to.equal(200);
      expect(created.body.data).to.include({ name: 'kim@example.com', email: 'kim@example.com', full_name: 'Kim Lee', enabled: 1 });
      expect(
        expectFrappeError(await rest(svc, 'PUT', '/api/resource/User/kim%40example.com', json({ email: 'other@example.com' })), 417, 'ValidationError')[0],
      ).to.match(/^\/email: must be the name in the URL/);
      expect(
        expectFrappeError(await rest(svc, 'PUT', '/api/resource/User/cat', json({ roles: [{ role: 'Auditor', rank: 1 }] })), 417, 'ValidationError'),
      ).to.deep.equal(['/roles/0/rank: is not a field of a Has Role row (role)']);
    });

    it('refuses a rename, bad fields, and an unknown user', async () => {
      expect(expectFrappeError(await rest(svc, 'PUT', '/api/resource/User/dan', json({ name: 'daniel' })), 417, 'ValidationError')[0]).to.match(
        /^\/name: must be the name in the URL/,
      );
      expect(expectFrappeError(await rest(svc, 'PUT', '/api/resource/User/dan', json({ enabled: 'yes' })), 417, 'ValidationError')).to.deep.equal([
        '/enabled: must be boolean',
      ]);
      expectFrappeError(await rest(svc, 'PUT', '/api/resource/User/nobody', json({ full_name: 'N' })), 404, 'DoesNotExistError');
      expectFrappeError(await rest(svc, 'PUT', '/api/resource/User/Administrator', json({ enabled: false })), 403, 'PermissionError');
    });
  });

  describe('DELETE', () => {
    it('answers 202 {"data": "ok"}, and the user is gone', async () => {
      await svc.asAdmin('user.create', { name: 'gone' });
      const reply = await rest(svc, 'DELETE', '/api/resource/User/gone');
      expect(reply.status, reply.text).to.equal(202);
      expect(reply.body).to.deep.equal({ data: 'ok' });
      expectFrappeError(await rest(svc, 'GET', '/api/resource/User/gone'), 404, 'DoesNotExistError');
      expectFrappeError(await rest(svc, 'DELETE', '/api/resource/User/Administrator'), 403, 'PermissionError');
    });
  });

  describe('refusals', () => {
    it('answers other doctypes with 404 DoesNotExistError, after the token check', async () => {
      const [message] = expectFrappeError(await rest(svc, 'GET', '/api/resource/Sales%20Invoice'), 404, 'DoesNotExistError');
      expect(message).to.match(/^DocType Sales Invoice not found/);
      expectFrappeError(await rest(svc, 'POST', '/api/resource/Customer', json({ name: 'x' })), 404, 'DoesNotExistError');
      expectFrappeError(await rest(svc, 'GET', '/api/resource/Customer/x', { token: null }), 401, 'AuthenticationError');
    });

    it('refuses every route to a caller without the role: 403 PermissionError', async () => {
      const routes: [string, string, { type?: string; body?: string }?][] = [
        ['GET', '/api/resource/User'],
        ['GET', '/api/resource/User/ann'],
        ['POST', '/api/resource/User', json({ name: 'sneak' })],
        ['PUT', '/api/resource/User/ann', json({ full_name: 'x' })],
        ['DELETE', '/api/resource/User/ann'],
      ];
      for (const [verb, path, body] of routes) {
        const [message] = expectFrappeError(await rest(svc, verb, path, { token: plain, ...body }), 403, 'PermissionError');
        expect(message, `${verb} ${path}`).to.match(/System Manager/);
      }
      expect((await svc.asAdmin('user.get', { name: 'ann' })).full_name, 'nothing changed').to.equal('ANN');
    });

    it('refuses missing credentials with 401 on every route', async () => {
      for (const [verb, path] of [
        ['GET', '/api/resource/User'],
        ['DELETE', '/api/resource/User/ann'],
        ['PUT', '/api/resource/User/ann'],
      ]) {
        expectFrappeError(await rest(svc, verb!, path!, { token: null }), 401, 'AuthenticationError');
      }
    });

    it('answers other verbs with 405 and Allow', async () => {
      const collection = await rest(svc, 'PUT', '/api/resource/User');
      expect(collection.status).to.equal(405);
      expect(collection.headers.get('allow')).to.equal('GET, POST');
      // Frappe runs a document's method on POST /api/resource/<doctype>/<name>; User has none.
      const doc = await rest(svc, 'POST', '/api/resource/User/ann');
      expect(doc.status).to.equal(405);
      expect(doc.headers.get('allow')).to.equal('GET, PUT, DELETE');
    });

    it('shows no secret in any document, for a user with keys', async () => {
      const keys = await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: 'eve' });
      ISSUED_SECRETS.add(keys.api_secret);
      const texts = [
        (await rest(svc, 'GET', '/api/resource/User?fields=%5B%22*%22%5D&limit_page_length=0')).text,
        (await rest(svc, 'GET', '/api/resource/User/eve')).text,
        (await rest(svc, 'PUT', '/api/resource/User/eve', json({ full_name: 'Eve' }))).text,
      ];
      for (const text of texts) {
        expect(text).to.not.include(keys.api_secret);
        expect(text).to.not.include(keys.api_key);
        expect(text).to.not.match(/secret|hash|_id/);
      }
    });
  });
});
