/**
 * Frappe's REST door, /api/method/<name>: the same method table and token
 * check as JSON-RPC, Frappe's params (query string, form, JSON body) and
 * Frappe's error body.
 */
import { expect } from 'chai';
import { newApiSecret } from '../src/auth/token.js';
import { ERRORS, AppError, type ErrorKind } from '../src/errors.js';
import { frappeError } from '../src/http/frappe-error.js';
import { useService, rest, expectFrappeError, requestFrom, basic, tokenOf } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('REST door: /api/method/<name>', () => {
  const svc = useService();
  let plain: string;
  before(async () => {
    plain = await svc.userWithToken('plain@example.com', ['Token Verifier']);
    await svc.asAdmin('user.create', { name: 'svc@example.com' });
  });

  describe('success', () => {
    it('answers frappe.auth.get_logged_user with {"message": "<user>"}', async () => {
      const reply = await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user');
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({ message: 'Administrator' });
      expect(reply.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    });

    it('takes GET and POST, /api/v1/, a trailing slash and anything after it (as handle_rpc_call)', async () => {
      for (const [verb, path] of [
        ['POST', '/api/method/frappe.auth.get_logged_user'],
        ['GET', '/api/method/frappe.auth.get_logged_user/'],
        ['GET', '/api/v1/method/frappe.auth.get_logged_user'],
        ['POST', '/api/v1/method/frappe.auth.get_logged_user/'],
        ['GET', '/api/method/frappe.auth.get_logged_user/ignored'],
      ] as const) {
        const reply = await rest(svc, verb, path, { token: plain });
        expect(reply.status, `${verb} ${path}`).to.equal(200);
        expect(reply.body, `${verb} ${path}`).to.deep.equal({ message: 'plain@example.com' });
      }
    });

    it('accepts Authorization: Basic base64(key:secret)', async () => {
      const reply = await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', {
        headers: basic(plain),
      });
      expect(reply.body).to.deep.equal({ message: 'plain@example.com' });
    });

    it('runs auth.verify, with the token to check in a form or JSON body', async () => {
      const own = await rest(svc, 'GET', '/api/method/auth.verify', { token: plain });
      expect(own.body.message).to.include({ valid: true, user: 'plain@example.com' });
      const form = await rest(svc, 'POST', '/api/method/auth.verify', {
        token: plain,
        type: 'application/x-www-form-urlencoded',
        body: `token=${encodeURIComponent(svc.adminToken)}`,
      });
      expect(form.body.message).to.include({ valid: true, user: 'Administrator' });
      const json = await rest(svc, 'POST', '/api/method/auth.verify', {
        token: plain,
        type: 'application/json',
        body: JSON.stringify({ token: svc.adminToken }),
      });
      expect(json.body.message).to.include({ valid: true, user: 'Administrator' });
    });

    it('refuses a token in the query string (it would reach access logs and browser history): 417 with a plain message', async () => {
      for (const [verb, path, body] of [
        ['GET', `/api/method/auth.verify?token=${encodeURIComponent(svc.adminToken)}`, undefined],
        ['POST', `/api/method/auth.verify/?token=${encodeURIComponent(svc.adminToken)}`, undefined],
        // A form field wins over the query string, but the secret was in the URL all the same.
        ['POST', `/api/method/auth.verify?token=${encodeURIComponent(svc.adminToken)}`, `token=${encodeURIComponent(plain)}`],
        ['GET', `/?cmd=auth.verify&token=${encodeURIComponent(svc.adminToken)}`, undefined],
      ] as const) {
        const reply = await rest(svc, verb, path, { token: plain, ...(body ? { type: 'application/x-www-form-urlencoded', body } : {}) });
        const [message] = expectFrappeError(reply, 417, 'ValidationError');
        expect(message, path).to.match(/^Do not send a token in the URL.*POST body/);
        expect(reply.body.exception).to.match(/^frappe\.exceptions\.ValidationError: Do not send a token in the URL/);
      }
    });

    it('issues keys with POST and the seed form ?user=NAME; the new pair works at once', async () => {
      const reply = await rest(svc, 'POST', `/api/method/${GENERATE}?user=svc%40example.com`);
      expect(reply.status).to.equal(200);
      expect(reply.body.message.api_key).to.match(/^tak_/);
      const whoami = await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', { token: tokenOf(reply.body.message) });
      expect(whoami.body).to.deep.equal({ message: 'svc@example.com' });
    });

    it('sends the security headers and the request id', async () => {
      const reply = await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', { headers: { 'x-request-id': 'rest-42' } });
      expect(reply.headers.get('x-request-id')).to.equal('rest-42');
      expect(reply.headers.get('cache-control')).to.equal('no-store');
      expect(reply.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(reply.headers.get('access-control-allow-origin'), 'CORS is off by default').to.equal(null);
    });
  });

  describe('params', () => {
    it('types query-string values by the schema: integers', async () => {
      const reply = await rest(svc, 'GET', '/api/method/user.list?start=1&limit=1');
      expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
      expect(reply.body.message).to.have.length(1);
      const bad = await rest(svc, 'GET', '/api/method/user.list?limit=many');
      expect(expectFrappeError(bad, 417, 'ValidationError')).to.deep.equal(['/limit: must be integer']);
    });

    it('types booleans (1/0/true/false, any case) and JSON lists, from the query string or a form', async () => {
      const created = await rest(svc, 'POST', '/api/method/user.create?name=typed&enabled=0&roles=%5B%22Token+Verifier%22%5D');
      expect(created.status, JSON.stringify(created.body)).to.equal(200);
      expect(created.body.message).to.include({ name: 'typed', enabled: false });
      expect(created.body.message.roles).to.deep.equal(['Token Verifier']);
      for (const [text, value] of [
        ['True', true],
        ['false', false],
        ['1', true],
      ] as const) {
        const reply = await rest(svc, 'POST', '/api/method/user.update', {
          type: 'application/x-www-form-urlencoded',
          body: `name=typed&enabled=${text}&roles=${encodeURIComponent('["A", "B"]')}`,
        });
        expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
        expect(reply.body.message.enabled, text).to.equal(value);
        expect(reply.body.message.roles).to.deep.equal(['A', 'B']);
      }
      const notBool = await rest(svc, 'POST', '/api/method/user.update?name=typed&enabled=yes');
      expect(expectFrappeError(notBool, 417, 'ValidationError')).to.deep.equal(['/enabled: must be boolean']);
      const notJson = await rest(svc, 'POST', '/api/method/user.update?name=typed&roles=A');
      expect(expectFrappeError(notJson, 417, 'ValidationError')).to.deep.equal(['/roles: must be array']);
    });

    it("types generate_keys' scopes (JSON list), grace_seconds (integer) and expires_at (null); scopes then bind on this door", async () => {
      await svc.asAdmin('user.create', { name: 'scoped@example.com', roles: ['System Manager'] });
      const reply = await rest(svc, 'POST', `/api/method/${GENERATE}`, {
        type: 'application/x-www-form-urlencoded',
        body: `user=scoped%40example.com&scopes=${encodeURIComponent('["auth.verify", "frappe.auth.*"]')}&grace_seconds=0&expires_at=null`,
      });
      expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
      expect(reply.body.message).to.include({ expires_at: null });
      expect(reply.body.message.scopes).to.deep.equal(['auth.verify', 'frappe.auth.*']);
      const token = tokenOf(reply.body.message);
      expect((await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', { token })).body).to.deep.equal({ message: 'scoped@example.com' });
      const [message] = expectFrappeError(await rest(svc, 'GET', '/api/method/user.list', { token }), 403, 'PermissionError');
      expect(message).to.match(/scopes/);
      expectFrappeError(await rest(svc, 'GET', '/api/resource/User', { token }), 403, 'PermissionError');
      const badGrace = await rest(svc, 'POST', `/api/method/${GENERATE}?user=scoped%40example.com&grace_seconds=soon`);
      expect(expectFrappeError(badGrace, 417, 'ValidationError')).to.deep.equal(['/grace_seconds: must be integer']);
    });

    it('reads 0 and 1 as booleans where the schema says boolean, in a JSON body (Frappe clients send Check fields so)', async () => {
      await svc.asAdmin('user.create', { name: 'checked' });
      const off = await rest(svc, 'POST', '/api/method/user.update', { type: 'application/json', body: '{"name": "checked", "enabled": 0}' });
      expect(off.status, JSON.stringify(off.body)).to.equal(200);
      expect(off.body.message.enabled).to.equal(false);
      const on = await rest(svc, 'POST', '/api/method/user.update', { type: 'application/json', body: '{"name": "checked", "enabled": 1}' });
      expect(on.body.message.enabled).to.equal(true);
      const two = await rest(svc, 'POST', '/api/method/user.update', { type: 'application/json', body: '{"name": "checked", "enabled": 2}' });
      expect(expectFrappeError(two, 417, 'ValidationError')).to.deep.equal(['/enabled: must be boolean']);
      const text = await rest(svc, 'POST', '/api/method/user.update', { type: 'application/json', body: '{"name": "checked", "full_name": 1}' });
      expect(expectFrappeError(text, 417, 'ValidationError'), 'only where the schema says boolean').to.deep.equal(['/full_name: must be string']);
      const rows = await rest(svc, 'POST', '/api/method/user.list', {
        type: 'application/json',
        body: '{"as_dict": 0, "fields": ["name"], "filters": {"name": "checked"}}',
      });
      expect(rows.body.message, 'as_dict (boolean or null) too').to.deep.equal([['checked']]);
      // The JSON-RPC door stays strict.
      const rpc = await svc.call('user.update', { name: 'checked', enabled: 0 });
      expect(rpc.body.error.code).to.equal(-32602);
    });

    it('keeps text as sent where the schema wants text', async () => {
      const reply = await rest(svc, 'POST', '/api/method/user.update', {
        type: 'application/x-www-form-urlencoded; charset=UTF-8',
        body: 'name=typed&full_name=%22123%22+%C3%A9',
      });
      expect(reply.body.message.full_name).to.equal('"123" é');
    });

    it('takes a JSON body when the content type is JSON', async () => {
      const reply = await rest(svc, 'POST', '/api/method/user.create', {
        type: 'application/json',
        body: JSON.stringify({ name: 'json-body', roles: ['X'], enabled: true }),
      });
      expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
      expect(reply.body.message).to.include({ name: 'json-body', enabled: true });
      // The URL and the JSON body may share the work, but not a name.
      const both = await rest(svc, 'POST', '/api/method/user.update?name=json-body', { type: 'application/json', body: '{"full_name": "Jay"}' });
      expect(both.body.message.full_name).to.equal('Jay');
      const twice = await rest(svc, 'POST', '/api/method/user.update?name=json-body', {
        type: 'application/json',
        body: '{"name": "json-body", "enabled": false}',
      });
      expect(expectFrappeError(twice, 417, 'ValidationError')[0]).to.match(/^\/name: given twice/);
    });

    it('drops the client noise params cmd and _', async () => {
      const reply = await rest(svc, 'GET', `/api/method/frappe.auth.get_logged_user?cmd=frappe.auth.get_logged_user&_=${Date.now()}`);
      expect(reply.body).to.deep.equal({ message: 'Administrator' });
      const json = await rest(svc, 'POST', '/api/method/frappe.auth.get_logged_user', { type: 'application/json', body: '{"_": 1, "cmd": "x"}' });
      expect(json.body).to.deep.equal({ message: 'Administrator' });
    });

    it('refuses bad params with 417 ValidationError and the failing paths', async () => {
      const pattern = await rest(svc, 'POST', `/api/method/${GENERATE}?user=not%20a%20name!`);
      const [message] = expectFrappeError(pattern, 417, 'ValidationError');
      expect(message).to.match(/^\/user: must match pattern/);
      expect(pattern.body.exception).to.match(/^frappe\.exceptions\.ValidationError: Invalid params: \/user: must match pattern/);
      const unknown = await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user?sneaky=1');
      expect(expectFrappeError(unknown, 417, 'ValidationError')).to.deep.equal(['/sneaky: is not a known parameter']);
      const missing = await rest(svc, 'POST', `/api/method/${GENERATE}`);
      expect(expectFrappeError(missing, 417, 'ValidationError')).to.deep.equal(["/user: must have required property 'user'"]);
      const proto = await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user?__proto__=%7B%7D');
      expect(expectFrappeError(proto, 417, 'ValidationError')).to.deep.equal(['/__proto__: is not a known parameter']);
    });

    it('refuses a body it cannot read: bad JSON 400, JSON that is not an object 417, other types 415', async () => {
      expectFrappeError(await rest(svc, 'POST', '/api/method/auth.verify', { type: 'application/json', body: '{"token":' }), 400, 'ValidationError');
      const list = await rest(svc, 'POST', '/api/method/auth.verify', { type: 'application/json', body: '["x"]' });
      expect(expectFrappeError(list, 417, 'ValidationError')).to.deep.equal(['/: the JSON body must be an object']);
      const multipart = await rest(svc, 'POST', '/api/method/auth.verify', { type: 'multipart/form-data; boundary=x', body: '--x\r\n\r\n--x--' });
      expect(expectFrappeError(multipart, 415, 'ValidationError')[0]).to.match(/multipart\/form-data is not read/);
      expectFrappeError(await rest(svc, 'POST', '/api/method/auth.verify', { type: 'text/plain', body: 'token=x' }), 415, 'ValidationError');
    });

    it('refuses a body over the size limit with 413', async () => {
      const reply = await rest(svc, 'POST', '/api/method/auth.verify', {
        type: 'application/json',
        body: JSON.stringify({ token: 'x'.repeat(2 * 1024 * 1024) }),
      });
      expectFrappeError(reply, 413, 'ValidationError');
    });
  });

  describe('refusals', () => {
    it('refuses GET on a method that changes data: 403 PermissionError, and nothing changes', async () => {
      const keys = await svc.asAdmin(GENERATE, { user: 'svc@example.com' });
      const reply = await rest(svc, 'GET', `/api/method/${GENERATE}?user=svc%40example.com`);
      const [message] = expectFrappeError(reply, 403, 'PermissionError');
      expect(message).to.match(/answers only POST/);
      const whoami = await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', { token: tokenOf(keys) });
      expect(whoami.body, 'the old secret still works').to.deep.equal({ message: 'svc@example.com' });
      // Same for every method that is not read-only, before its params are even read.
      expectFrappeError(await rest(svc, 'GET', '/api/method/user.delete?name=svc%40example.com'), 403, 'PermissionError');
      expectFrappeError(await rest(svc, 'GET', '/api/v1/method/user.create/'), 403, 'PermissionError');
    });

    it('refuses a caller without the role: 403 PermissionError', async () => {
      const reply = await rest(svc, 'POST', `/api/method/${GENERATE}?user=svc%40example.com`, { token: plain });
      const [message] = expectFrappeError(reply, 403, 'PermissionError');
      expect(message).to.match(/System Manager/);
      expectFrappeError(await rest(svc, 'GET', '/api/method/user.list', { token: plain }), 403, 'PermissionError');
    });

    it('answers an unknown method with 404 DoesNotExistError, after the token check', async () => {
      const reply = await rest(svc, 'GET', '/api/method/frappe.no.such');
      expect(expectFrappeError(reply, 404, 'DoesNotExistError')).to.deep.equal(['Method not found: frappe.no.such']);
      const odd = await rest(svc, 'GET', '/api/method/%3Cscript%3E');
      expect(expectFrappeError(odd, 404, 'DoesNotExistError'), 'an odd name is not echoed').to.deep.equal(['Method not found']);
      expectFrappeError(await rest(svc, 'GET', '/api/method/frappe.no.such', { token: null }), 401, 'AuthenticationError');
      expectFrappeError(await rest(svc, 'GET', '/api/nothing/here', { token: null }), 404, 'DoesNotExistError');
      expectFrappeError(await rest(svc, 'GET', '/api/v2/method/frappe.auth.get_logged_user'), 404, 'DoesNotExistError');
    });

    it('refuses missing and wrong credentials: 401 AuthenticationError with WWW-Authenticate', async () => {
      const [key] = plain.split(':');
      for (const headers of [
        {} as Record<string, string>,
        { authorization: 'token nonsense' },
        { authorization: `token ${key}:${newApiSecret()}` },
        basic(`${key}:${newApiSecret()}`),
      ]) {
        const reply = await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', { token: null, headers });
        expect(expectFrappeError(reply, 401, 'AuthenticationError')).to.deep.equal(['Authentication failed']);
        expect(reply.headers.get('www-authenticate')).to.equal('token');
      }
    });

    it('answers other verbs with 405 and Allow', async () => {
      for (const verb of ['PUT', 'DELETE', 'PATCH']) {
        const reply = await rest(svc, verb, '/api/method/frappe.auth.get_logged_user');
        expect(reply.status, verb).to.equal(405);
        expect(reply.headers.get('allow')).to.equal('GET, POST');
      }
    });

    it('answers OPTIONS without a token, with Allow and no CORS header (CORS is off)', async () => {
      const res = await fetch(`${svc.url}/api/method/frappe.auth.get_logged_user`, { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example' } });
      expect(res.status).to.equal(204);
      expect(res.headers.get('allow')).to.equal('GET, POST, OPTIONS');
      expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    });

    it('never writes a secret it issued to the logs', async () => {
      const reply = await rest(svc, 'POST', `/api/method/${GENERATE}`, { type: 'application/x-www-form-urlencoded', body: 'user=svc%40example.com' });
      const secret = reply.body.message.api_secret;
      expect(svc.logs.join('\n')).to.not.include(secret);
      expect(
        svc.logs.some((l) => l.includes('"door":"rest"') && l.includes(GENERATE)),
        'the call is logged',
      ).to.equal(true);
    });
  });

  describe('the root, /, for old clients that send cmd=<method>', () => {
    it("answers frappe-client's rename_doc (a form with cmd to /, not served) with 404 DoesNotExistError, and changes nothing", async () => {
      await svc.asAdmin('user.create', { name: 'kept@example.com' });
      const reply = await rest(svc, 'POST', '/', {
        type: 'application/x-www-form-urlencoded',
        body: 'cmd=frappe.client.rename_doc&doctype=User&old_name=kept%40example.com&new_name=x',
      });
      expect(expectFrappeError(reply, 404, 'DoesNotExistError')).to.deep.equal(['Method not found: frappe.client.rename_doc']);
      expect((await svc.asAdmin('user.get', { name: 'kept@example.com' })).name).to.equal('kept@example.com');
    });

    it('runs a method it has as /api/method/<cmd> would, cmd itself dropped; from a form, or cmd in the query string', async () => {
      const form = await rest(svc, 'POST', '/', {
        type: 'application/x-www-form-urlencoded',
        body: 'cmd=user.update&name=kept%40example.com&full_name=Kept&enabled=0',
      });
      expect(form.status, JSON.stringify(form.body)).to.equal(200);
      expect(form.body.message).to.include({ name: 'kept@example.com', full_name: 'Kept', enabled: false });
      const get = await rest(svc, 'GET', `/?cmd=frappe.auth.get_logged_user&_=${Date.now()}`, { token: plain });
      expect(get.body).to.deep.equal({ message: 'plain@example.com' });
      const json = await rest(svc, 'POST', '/?cmd=user.update', { type: 'application/json', body: '{"name": "kept@example.com", "full_name": "Kept 2"}' });
      expect(json.body.message).to.include({ full_name: 'Kept 2' });
      // Same rules as /api/method/: a method that changes data answers only POST.
      expectFrappeError(await rest(svc, 'GET', '/?cmd=user.delete&name=kept%40example.com'), 403, 'PermissionError');
      expectFrappeError(
        await rest(svc, 'POST', '/', { token: null, type: 'application/x-www-form-urlencoded', body: 'cmd=frappe.auth.get_logged_user' }),
        401,
        'AuthenticationError',
      );
    });

    it('answers a form whose cmd is no method with 404; a form without cmd stays JSON-RPC (parse error)', async () => {
      expect((await rest(svc, 'POST', '/', { type: 'application/x-www-form-urlencoded', body: 'user=x' })).body.error.code).to.equal(-32700);
      expect(
        expectFrappeError(await rest(svc, 'POST', '/', { type: 'application/x-www-form-urlencoded', body: 'cmd=%3Cb%3E' }), 404, 'DoesNotExistError'),
      ).to.deep.equal(['Method not found']);
    });

    it('keeps JSON bodies on / for JSON-RPC, including JSON sent with a form content type (curl -d)', async () => {
      const request = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'frappe.auth.get_logged_user' });
      for (const type of ['application/json', 'application/x-www-form-urlencoded', 'text/plain']) {
        const reply = await rest(svc, 'POST', '/', { type, body: request });
        expect(reply.body, type).to.deep.equal({ jsonrpc: '2.0', id: 7, result: 'Administrator' });
      }
      const batch = await rest(svc, 'POST', '/', { type: 'application/x-www-form-urlencoded', body: ` [${request}]` });
      expect(batch.body).to.deep.equal([{ jsonrpc: '2.0', id: 7, result: 'Administrator' }]);
      const notJson = await rest(svc, 'POST', '/', { type: 'application/json', body: 'cmd=frappe.auth.get_logged_user' });
      expect(notJson.body.error.code, 'a JSON content type is JSON-RPC, parse error and all').to.equal(-32700);
      expect((await rest(svc, 'GET', '/')).status, 'GET / without cmd').to.equal(405);
    });
  });

  describe('metrics', () => {
    it('counts REST requests in tokenauth_http_request_duration_seconds', async () => {
      // 417 and 404 with Frappe's body come only from this door.
      const count = async (status: number) => {
        const text = await (await fetch(`${svc.url}/metrics`, { headers: basic(svc.adminToken) })).text();
        const m = new RegExp(`^tokenauth_http_request_duration_seconds_count\\{status="${status}"\\} (\\d+)$`, 'm').exec(text);
        return m ? Number(m[1]) : 0;
      };
      const [before417, before404] = [await count(417), await count(404)];
      await rest(svc, 'GET', '/api/method/user.list?limit=many');
      await rest(svc, 'GET', '/api/resource/User?limit_page_length=x');
      await rest(svc, 'GET', '/api/nothing/here', { token: null });
      expect(await count(417)).to.equal(before417 + 2);
      expect(await count(404)).to.equal(before404 + 1);
      const text = await (await fetch(`${svc.url}/metrics`, { headers: basic(svc.adminToken) })).text();
      expect(text).to.match(/# HELP tokenauth_http_request_duration_seconds .*REST/);
    });
  });

  describe('error body', () => {
    it("maps every error kind to its status and Frappe's exception line", () => {
      for (const kind of Object.keys(ERRORS) as ErrorKind[]) {
        const body = frappeError(new AppError(kind));
        const { excType, message } = ERRORS[kind];
        expect(body.exc_type).to.equal(excType);
        expect(body.exception).to.equal(`${excType === 'Exception' ? '' : 'frappe.exceptions.'}${excType}: ${message}`);
        expect(JSON.parse(body.exc)).to.deep.equal([body.exception]);
        expect(JSON.parse(JSON.parse(body._server_messages)[0])).to.deep.equal({ message, title: message, indicator: 'red' });
      }
      expect(ERRORS.storage_unavailable.http).to.equal(503);
      expect(ERRORS.conflict).to.include({ http: 409, excType: 'DuplicateEntryError' });
    });
  });
});

describe('REST door: failed-authentication limits', function () {
  this.timeout(30_000);
  const svc = useService({ authFailureLimit: 2, authFailureWindowMs: 60_000 });

  it('answers 401 up to the limit, then 429 TooManyRequestsError with Retry-After, after the tarpit', async () => {
    const path = '/api/method/frappe.auth.get_logged_user';
    for (let i = 0; i < 2; i++) expect((await requestFrom(svc, '127.0.0.21', 'GET', path, { authorization: 'token nonsense' })).status).to.equal(401);
    const limited = await requestFrom(svc, '127.0.0.21', 'GET', path, { authorization: 'token nonsense' });
    expect(limited.status).to.equal(429);
    expect(limited.body.exc_type).to.equal('TooManyRequestsError');
    expect(limited.body.exception).to.equal('frappe.exceptions.TooManyRequestsError: Too many failed authentication attempts');
    expect(Number(limited.headers['retry-after'])).to.be.within(1, 60);
    expect(limited.ms, 'the 1 s tarpit').to.be.at.least(900);
    const other = await requestFrom(svc, '127.0.0.22', 'GET', path, { authorization: 'token nonsense' });
    expect(other.status, 'another address is not limited').to.equal(401);
    // A correct token from the limited address still gets in.
    const good = await requestFrom(svc, '127.0.0.21', 'GET', path, { authorization: `token ${svc.adminToken}` });
    expect(good.status).to.equal(200);
    expect(good.body).to.deep.equal({ message: 'Administrator' });
  });
});
