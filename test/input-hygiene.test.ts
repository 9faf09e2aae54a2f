/**
 * Input hygiene (issue 10 §5): names that only look like others, paths that
 * mean something else after a proxy resolves them, and a client that hangs
 * up mid-upload. Everything goes through real HTTP to the real service.
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { withDatabase } from '../src/config.js';
import { useService, expectError, expectFrappeError, expectResult, rest, sleep } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

/** Characters no name may hold: one each of Cc (C0, DEL, C1), Cf, Zl, Zp, and a lone surrogate. */
const INVISIBLE: Record<string, string> = {
  'NUL (Cc)': '\u0000',
  'TAB (Cc)': '\t',
  'LF (Cc)': '\n',
  'DEL (Cc)': '\u007f',
  'NEL (Cc, C1)': '\u0085',
  'soft hyphen (Cf)': '\u00ad',
  'zero-width space (Cf)': '\u200b',
  'zero-width joiner (Cf)': '\u200d',
  'right-to-left override (Cf)': '\u202e',
  'word joiner (Cf)': '\u2060',
  'byte order mark (Cf)': '\ufeff',
  'language tag (Cf, astral)': '\u{e0001}',
  'line separator (Zl)': '\u2028',
  'paragraph separator (Zp)': '\u2029',
  'lone surrogate (Cs)': '\ud800',
};

/** Ways to dress "System Manager" up as something that looks the same. */
const LOOKALIKE_ROLES = [
  'System Manager ',
  ' System Manager',
  'System  Manager',
  'System Manager\t',
  'System\u00a0Manager',
  ...Object.values(INVISIBLE).flatMap((c) => [`System Manager${c}`, `System${c} Manager`]),
];

function problems(error: any): { path: string; message: string }[] {
  expect(error.data, JSON.stringify(error)).to.be.an('array').that.is.not.empty;
  return error.data;
}

describe('input hygiene', function () {
  this.timeout(60_000);
  const svc = useService();
  before(async () => {
    await svc.asAdmin('user.create', { name: 'existing@example.com' });
  });

  describe('role names, user names and full names', () => {
    it('refuses a role with a leading or trailing space, a double space, or an invisible character: -32602 with the path', async () => {
      for (const role of LOOKALIKE_ROLES) {
        const shown = JSON.stringify(role);
        const create = expectError(await svc.call('user.create', { name: 'lookalike@example.com', roles: ['Token Verifier', role] }), -32602);
        expect(
          problems(create).map((p) => p.path),
          shown,
        ).to.deep.equal(['/roles/1']);
        const update = expectError(await svc.call('user.update', { name: 'existing@example.com', roles: [role] }), -32602);
        expect(
          problems(update).map((p) => p.path),
          shown,
        ).to.deep.equal(['/roles/0']);
      }
      // Nothing was stored on the way.
      expectError(await svc.call('user.get', { name: 'lookalike@example.com' }), -32004);
      expect(expectResult(await svc.call('user.get', { name: 'existing@example.com' })).roles).to.deep.equal([]);
    });

    it('refuses a full name with an invisible character or a leading or trailing space', async () => {
      const bad = [' Jane', 'Jane ', '\u00a0Jane', 'Jane\u3000', ' ', ...Object.values(INVISIBLE).flatMap((c) => [`Jane${c}Doe`, `${c}Jane`, `Jane${c}`])];
      for (const fullName of bad) {
        const shown = JSON.stringify(fullName);
        const create = expectError(await svc.call('user.create', { name: 'fullname@example.com', full_name: fullName }), -32602);
        expect(
          problems(create).map((p) => p.path),
          shown,
        ).to.deep.equal(['/full_name']);
        const update = expectError(await svc.call('user.update', { name: 'existing@example.com', full_name: fullName }), -32602);
        expect(
          problems(update).map((p) => p.path),
          shown,
        ).to.deep.equal(['/full_name']);
      }
      expectError(await svc.call('user.get', { name: 'fullname@example.com' }), -32004);
    });

    it('refuses such user names wherever a user is named', async () => {
      const names = [
        'existing@example.com ',
        ' existing@example.com',
        'existing@example.com\n',
        ...Object.values(INVISIBLE).map((c) => `existing${c}@example.com`),
      ];
      for (const name of names) {
        const shown = JSON.stringify(name);
        for (const [method, params, path] of [
          ['user.create', { name }, '/name'],
          ['user.get', { name }, '/name'],
          ['user.update', { name, enabled: false }, '/name'],
          ['user.delete', { name }, '/name'],
          [GENERATE, { user: name }, '/user'],
          ['auth.keys.get', { user: name }, '/user'],
          ['auth.keys.list', { user: name }, '/user'],
          ['auth.keys.update', { user: name, expires_at: null }, '/user'],
          ['auth.keys.revoke', { user: name }, '/user'],
          ['auth.audit.list', { user: name }, '/user'],
        ] as const) {
          const error = expectError(await svc.call(method, params), -32602);
          expect(
            problems(error).map((p) => p.path),
            `${method} ${shown}`,
          ).to.deep.equal([path]);
        }
      }
    });

    it('refuses them on the REST door too, in a User document and its URL (417 with the path)', async () => {
      const json = (doc: unknown) => ({ type: 'application/json', body: JSON.stringify(doc) });
      const created = await rest(svc, 'POST', '/api/resource/User', json({ name: 'rest-lookalike@example.com', roles: ['System Manager '] }));
      expect(expectFrappeError(created, 417, 'ValidationError').join()).to.match(/^\/roles\/0: /);
      const form = await rest(svc, 'POST', '/api/resource/User', {
        type: 'application/x-www-form-urlencoded',
        body: 'name=rest-lookalike%40example.com&full_name=Jane%E2%80%8B',
      });
      expect(expectFrappeError(form, 417, 'ValidationError').join()).to.match(/^\/full_name: /);
      const updated = await rest(svc, 'PUT', '/api/resource/User/existing%40example.com', json({ roles: ['Token Verifier', 'Token Verifier\u200b'] }));
      expect(expectFrappeError(updated, 417, 'ValidationError').join()).to.match(/^\/roles\/1: /);
      const read = await rest(svc, 'GET', `/api/resource/User/${encodeURIComponent('existing@example.com\u2028')}`);
      expect(expectFrappeError(read, 417, 'ValidationError').join()).to.match(/^\/name: /);
      const method = await rest(svc, 'POST', '/api/method/user.update', json({ name: 'existing@example.com', full_name: 'Trailing ' }));
      expect(expectFrappeError(method, 417, 'ValidationError').join()).to.match(/^\/full_name: /);
      expect((await rest(svc, 'GET', '/api/resource/User/rest-lookalike%40example.com')).status).to.equal(404);
    });

    it('refuses them on the CLI too (tokenauth execute, straight to the database)', async () => {
      const env = { ...process.env, MONGODB_URI: withDatabase(process.env.MONGODB_URI!, svc.app.services.storage.db.databaseName) };
      const kwargs = JSON.stringify({ name: 'cli-lookalike', roles: ['System Manager '] });
      const run = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', path.resolve('src/cli.ts'), 'execute', 'user.create', '--kwargs', kwargs],
          { env },
          (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        ),
      );
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.include('Error -32602: Invalid params').and.include('/roles/0');
      expectError(await svc.call('user.get', { name: 'cli-lookalike' }), -32004);
    });

    it('still takes ordinary names: emails, Administrator, roles with single inner spaces, full names in any script', async () => {
      const user = expectResult(
        await svc.call('user.create', {
          name: 'jose.garcia+ops@example.com',
          full_name: 'José  García-Ñúñez',
          roles: ['System Manager', 'Token Verifier', 'Ops_team-2', 'A B C'],
        }),
      );
      expect(user).to.include({ name: 'jose.garcia+ops@example.com', full_name: 'José  García-Ñúñez' });
      expect(user.roles).to.deep.equal(['System Manager', 'Token Verifier', 'Ops_team-2', 'A B C']);
      for (const fullName of ['Jean\u00a0Paul', '山田 太郎', 'Ørjan O’Brien', 'محمد', 'Zoë 🙂', 'x']) {
        expect(expectResult(await svc.call('user.update', { name: 'jose.garcia+ops@example.com', full_name: fullName })).full_name).to.equal(fullName);
      }
      expect(expectResult(await svc.call('user.get', { name: 'Administrator' })).roles).to.include('System Manager');
      expect(expectResult(await svc.call(GENERATE, { user: 'jose.garcia+ops@example.com' }))).to.have.property('api_key');
      const doc = await rest(svc, 'PUT', '/api/resource/User/jose.garcia%2Bops%40example.com', {
        type: 'application/json',
        body: JSON.stringify({ full_name: 'José García' }),
      });
      expect(doc.status, doc.text).to.equal(200);
      expect(doc.body.data.full_name).to.equal('José García');
    });
  });

  describe('paths', () => {
    /** One request with the path exactly as given: fetch and URL would resolve dot segments first. */
    function raw(path: string, method = 'GET'): Promise<{ status: number; body: any; text: string }> {
      const { hostname, port } = new URL(svc.url);
      return new Promise((resolve, reject) => {
        const req = http.request({ host: hostname, port, path, method, agent: false, headers: { authorization: `token ${svc.adminToken}` } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode!, body, text });
          });
        });
        req.on('error', reject);
        req.end();
      });
    }

    it('answers a path with dot segments, empty segments or an encoded slash, backslash or dot with 404, as an unknown route', async () => {
      const unknown = await raw('/api/nothing');
      expectFrappeError({ ...unknown, headers: new Headers() }, 404, 'DoesNotExistError');
      for (const path of [
        '/api/method/frappe.auth.get_logged_user/../../resource/User',
        '/api/method/frappe.auth.get_logged_user/..',
        '/api/method/./frappe.auth.get_logged_user',
        '/api/method/frappe.auth.get_logged_user/.',
        '/api/./method/frappe.auth.get_logged_user',
        '/api/v1/../method/frappe.auth.get_logged_user',
        '/api/resource/User/../User',
        '/api/resource/User/%2e%2e/x',
        '/api/resource/User/%2E%2E',
        '/api/resource/User/.%2e',
        '/api/resource/User/existing%40example.com%2F..',
        '/api/resource/User%2fexisting%40example.com',
        '/api/resource/User%5Cexisting%40example.com',
        '/api/resource/User/existing%5cexample.com',
        '/api/resource/User\\existing%40example.com',
        '/api/method/frappe%2Eauth%2Eget_logged_user',
        '/api/method/frappe.auth.get_logged_user%2f',
        '/api//method/x',
        '/api//method/frappe.auth.get_logged_user',
        '/api/method//frappe.auth.get_logged_user',
        '/api/method/frappe.auth.get_logged_user//',
        '/api/resource//User',
        '/api/resource/User//existing%40example.com',
        '/api/v1//resource/User',
      ]) {
        const reply = await raw(path);
        expect(reply.status, path).to.equal(404);
        expect(reply.body, `${path}: ${reply.text}`).to.deep.equal(unknown.body);
        // The same for a verb that would change something.
        expect((await raw(path, 'DELETE')).status, `DELETE ${path}`).to.equal(404);
      }
    });

    it('still serves the ordinary forms: a trailing slash, /api/v1/, dots inside a name, an encoded @', async () => {
      for (const [path, expected] of [
        ['/api/method/frappe.auth.get_logged_user', { message: 'Administrator' }],
        ['/api/method/frappe.auth.get_logged_user/', { message: 'Administrator' }],
        ['/api/v1/method/frappe.auth.get_logged_user/', { message: 'Administrator' }],
        ['/api/method/frappe.auth.get_logged_user?_=..%2F..', { message: 'Administrator' }],
      ] as const) {
        const reply = await raw(path);
        expect(reply.status, path).to.equal(200);
        expect(reply.body, path).to.deep.equal(expected);
      }
      for (const path of [
        '/api/resource/User/existing%40example.com',
        '/api/resource/User/existing@example.com/',
        '/api/v1/resource/User/existing@example.com',
      ]) {
        const reply = await raw(path);
        expect(reply.status, `${path}: ${reply.text}`).to.equal(200);
        expect(reply.body.data.name, path).to.equal('existing@example.com');
      }
    });
  });

  describe('an upload the client abandons', () => {
    /**
     * Starts a POST whose Content-Length promises more than is sent, with no
     * Authorization, sends part of it, then destroys the socket. Returns the
     * log lines the service wrote meanwhile.
     */
    async function abandon(path: string, requestId: string): Promise<any[]> {
      const before = svc.logs.length;
      const { hostname, port } = new URL(svc.url);
      const socket = net.connect(Number(port), hostname);
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.on('error', () => {});
      socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-Id: ${requestId}\r\nContent-Length: 500000\r\n\r\n`);
      socket.write(`{"data": "${'x'.repeat(64 * 1024)}`);
      // Let the service start reading the body before the client goes away.
      await sleep(200);
      socket.destroy();
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && !svc.logs.slice(before).some((l) => l.includes(requestId))) await sleep(25);
      // Anything else it would log about this request comes at once; give it a moment.
      await sleep(200);
      return svc.logs.slice(before).map((l) => JSON.parse(l));
    }

    for (const path of ['/rpc', '/', '/api/resource/User', '/api/method/user.create']) {
      it(`logs it once at info level, without a stack (${path})`, async () => {
        const requestId = `abandoned-${path.replace(/\W+/g, '-')}`;
        const lines = await abandon(path, requestId);
        const about = lines.filter((l) => l.req_id === requestId);
        expect(about, JSON.stringify(lines)).to.have.length(1);
        expect(about[0].level, JSON.stringify(about[0])).to.equal(30);
        expect(about[0]).to.not.have.property('stack');
        expect(about[0].err?.stack, JSON.stringify(about[0])).to.equal(undefined);
        // Nothing else about it either: no warning or error, no stack anywhere.
        expect(
          lines.filter((l) => l.level >= 40),
          JSON.stringify(lines),
        ).to.deep.equal([]);
        expect(JSON.stringify(lines)).to.not.match(/"stack"/);
      });
    }

    it('keeps answering afterwards', async () => {
      expect(expectResult(await svc.call('frappe.auth.get_logged_user'))).to.equal('Administrator');
    });
  });
});

describe('a token in the URL of the JSON-RPC door (found by an outside attacker)', () => {
  const svc = useService();

  it('is refused, not ignored, as the REST door refuses it: 400 with -32602 and a plain message', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' });
    for (const url of ['/rpc?token=k:s', '/?token=k:s', '/rpc?%74oken=k:s', '/rpc?x=1&token=']) {
      const res = await fetch(`${svc.url}${url}`, {
        method: 'POST',
        headers: { authorization: `token ${svc.adminToken}`, 'content-type': 'application/json' },
        body,
      });
      expect(res.status, url).to.equal(400);
      const reply = (await res.json()) as { error: { code: number; message: string } };
      expect(reply.error.code, url).to.equal(-32602);
      expect(reply.error.message, url).to.match(/^Do not send a token in the URL/);
    }
    // Other query strings are still ignored.
    const res = await fetch(`${svc.url}/rpc?trace=1`, { method: 'POST', headers: { authorization: `token ${svc.adminToken}` }, body });
    expect(((await res.json()) as { result: string }).result).to.equal('Administrator');
  });
});

describe('an API secret in params (found by an outside attacker)', () => {
  const svc = useService();

  it('is refused before anything reads it, on every method and door, and is neither echoed nor stored', async () => {
    const owner = await svc.newUser();
    const key = await svc.asAdmin(GENERATE, { user: owner });
    const secret = key.api_secret as string;
    const keysBefore = JSON.stringify(await svc.collection('api_keys').find({}).sort({ user: 1 }).toArray());
    const cases: [string, unknown][] = [
      ['user.get', { name: secret }], // was echoed: "User tas_... not found"
      [GENERATE, { user: owner, scopes: [secret] }], // was stored in the key's scopes
      ['user.create', { name: 'x@example.com', full_name: `pasted ${secret} here` }],
      ['user.list', { fields: [secret] }], // was echoed: unknown field "tas_..."
      ['user.list', { filters: { [secret]: 1 } }],
      ['auth.keys.update', { user: owner, ip_allowlist: [secret] }],
    ];
    for (const [method, params] of cases) {
      const reply = await svc.call(method, params);
      const error = expectError(reply, -32602);
      expect(JSON.stringify(reply.body), `${method}: not echoed`).not.to.include(secret.slice(4));
      expect(error.data[0].message).to.match(/holds an API secret/);
    }
    // Frappe's door maps onto the same methods.
    const restReply = await rest(
      svc,
      'GET',
      `/api/method/frappe.client.get_value?doctype=User&fieldname=name&filters=${encodeURIComponent(JSON.stringify({ full_name: secret }))}`,
    );
    expect(restReply.text, 'REST: not echoed').not.to.include(secret.slice(4));
    expect(restReply.status).to.be.within(400, 499);
    expect(JSON.stringify(await svc.collection('api_keys').find({}).sort({ user: 1 }).toArray()), 'nothing written').to.equal(keysBefore);
    expect(await svc.collection('users').findOne({ name: 'x@example.com' })).to.equal(null);
    // Where a method takes a token, it is taken; a made-up look-alike (bad checksum) is no secret.
    expectResult(await svc.call('auth.verify', { token: `${key.api_key as string}:${secret}` }));
    expectResult(await svc.call('user.create', { name: 'y@example.com', full_name: `tas_${'a'.repeat(30)}` }));
  });

  it("is refused as its body alone, or under any other prefix: a full name never stores a live secret's body", async () => {
    const owner = await svc.newUser();
    const secret = (await svc.asAdmin(GENERATE, { user: owner })).api_secret as string;
    const body = secret.slice(4);
    const spellings = [body, `TAS_${body}`, `tas&#95;${body}`, `tas\\u005f${body}`, `tas%C1%9F${body}`, `tas\uff3f${body}`, `pasted:${body}!`];
    for (const [i, fullName] of spellings.entries()) {
      const error = expectError(await svc.call('user.create', { name: `body-${i}@example.com`, full_name: fullName }), -32602);
      expect(
        error.data.map((d: { path: string }) => d.path),
        fullName,
      ).to.deep.equal(['/full_name']);
      expect(error.data[0].message).to.match(/holds an API secret/);
      expectError(await svc.call('user.update', { name: owner, full_name: fullName }), -32602);
      // The other doors map onto the same methods.
      const doc = { name: `rest-body-${i}@example.com`, full_name: fullName };
      const viaRest = await rest(svc, 'POST', '/api/resource/User', { type: 'application/json', body: JSON.stringify(doc) });
      expect(viaRest.status, fullName).to.be.within(400, 499);
      expect(viaRest.text).not.to.include(body);
    }
    // A param's name holding one is named withheld: not even its first characters are echoed.
    const named = expectError(await svc.call('user.list', { filters: { [`TAS_${body}`]: 1 } }), -32602);
    expect(named.data[0].path).to.equal('/filters/TAS_[withheld]');
    const listed = await svc.call('user.list', { fields: ['name', 'full_name'], limit: 1000 });
    expect(JSON.stringify(expectResult(listed))).not.to.include(body);
    expect(await svc.collection('users').countDocuments({ full_name: { $regex: body } })).to.equal(0);
    // A look-alike whose checksum fails is no secret: an honest value is never refused for it.
    const miss = body.slice(0, -1) + (body.endsWith('0') ? '1' : '0');
    expectResult(await svc.call('user.create', { name: 'look-alike@example.com', full_name: `TAS_${miss}` }));
  });
});
