/**
 * Replays, byte for byte, the requests the Python Frappe clients send, and
 * reads the replies as they do. Derived from:
 *
 *   frappe/frappe-client  frappeclient/frappeclient.py (FrappeClient): a
 *     requests.Session with the session's default headers, Authorization:
 *     Basic base64(key:secret) set by authenticate(); get_list passes
 *     headers={'Accept': 'application/json'}, the other calls do not.
 *     Its `cmd` calls (delete, get_value, set_value, rename_doc, insert_many)
 *     go to the site's root: post_request POSTs a form with cmd=<method>,
 *     get_request GETs /?cmd=<method>&...
 *   frappe/frappe         frappe/frappeclient.py (Frappe's own copy): sends
 *     Accept: application/json and content-type: application/x-www-form-urlencoded
 *     on every request, even a GET without a body.
 *
 * Both encode params as requests does (urllib's urlencode: quote_plus, so
 * spaces become + and every other reserved byte %XX in upper case) and
 * json.dumps lists and dicts (", " and ": " separators, ASCII only). Both
 * raise FrappeException when the reply has `exc` (post_process), and return
 * `message`, else `data`. Frappe's REST documentation sends the same requests
 * with Authorization: token key:secret, so each replay runs with both.
 */
import { expect } from 'chai';
import http from 'node:http';
import { newApiSecret } from '../src/auth/token.js';
import { useService, basic, bearer, tokenOf, ISSUED_SECRETS, type TestService } from './harness.js';

/** Python's json.dumps with its defaults. */
function pyDumps(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (Array.isArray(v)) return `[${v.map(pyDumps).join(', ')}]`;
  return `{${Object.entries(v as object)
    .map(([k, x]) => `${pyDumps(k)}: ${pyDumps(x)}`)
    .join(', ')}}`;
}

/** urllib.parse.quote_plus(s, safe=''), as urlencode applies it. */
function pyQuotePlus(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : b === 0x20 ? '+' : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** urllib.parse.urlencode(dict): values str()'d, in insertion order. */
function pyUrlencode(params: Record<string, string | number>): string {
  return Object.entries(params)
    .map(([k, v]) => `${pyQuotePlus(k)}=${pyQuotePlus(String(v))}`)
    .join('&');
}

class FrappeException extends Error {}

interface Sent {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: any;
}

/** FrappeClient.post_process. */
function postProcess(reply: Sent): unknown {
  const r = reply.json;
  if (r && 'exc' in r && r.exc) throw new FrappeException(`FrappeClient Request Failed\n\n${JSON.parse(r.exc)[0]}`);
  if ('message' in r) return r.message;
  if ('data' in r) return r.data;
  return null;
}

/** Awaits a client call that must raise FrappeException with `match` in its message (a string: included as it is). */
async function expectRaises(call: () => Promise<unknown>, match: RegExp | string, label?: string): Promise<void> {
  let raised: unknown;
  try {
    await call();
  } catch (err) {
    raised = err;
  }
  expect(raised, label).to.be.instanceOf(FrappeException);
  if (typeof match === 'string') expect((raised as Error).message).to.include(match);
  else expect((raised as Error).message).to.match(match);
}

/** A raw request: the path is sent exactly as given, headers in the given order (an object keeps it). */
function send(svc: TestService, verb: string, rawPath: string, headers: [string, string][], body?: string): Promise<Sent> {
  const url = new URL(svc.url);
  const all = [...headers];
  if (body !== undefined || verb === 'POST' || verb === 'PUT') all.push(['Content-Length', String(Buffer.byteLength(body ?? ''))]);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: verb, path: rawPath, headers: Object.fromEntries(all), agent: false }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => (data += d.toString()));
      res.on('end', () => {
        const json = JSON.parse(data);
        if (typeof json?.message?.api_secret === 'string') ISSUED_SECRETS.add(json.message.api_secret);
        resolve({ status: res.statusCode!, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What a requests.Session sends by default (requests.utils.default_headers). */
const SESSION_HEADERS: [string, string][] = [
  ['User-Agent', 'python-requests/2.32.3'],
  ['Accept-Encoding', 'gzip, deflate'],
  ['Accept', '*/*'],
  ['Connection', 'keep-alive'],
];

/** The calls of frappeclient/frappeclient.py, each sending what it sends; `auth` is basic() or bearer() of a token. */
function frappeClient(svc: TestService, auth: Record<string, string>) {
  const session = (extra: [string, string][] = []) => {
    const headers = new Map<string, string>([...SESSION_HEADERS, ...Object.entries(auth)]);
    for (const [k, v] of extra) headers.set(k, v); // requests merges per-call headers over the session's
    return [...headers];
  };
  const form: [string, string][] = [['Content-Type', 'application/x-www-form-urlencoded']];
  const query = (params: Record<string, string | number>) => (Object.keys(params).length ? `?${pyUrlencode(params)}` : '');
  return {
    /** get_api: session.get(url + '/api/method/' + method + '/', params=params) */
    getApi: async (method: string, params: Record<string, string> = {}) =>
      postProcess(await send(svc, 'GET', `/api/method/${method}/${query(params)}`, session())),
    /** post_api: session.post(url + '/api/method/' + method + '/', params=params), no body */
    postApi: async (method: string, params: Record<string, string> = {}) =>
      postProcess(await send(svc, 'POST', `/api/method/${method}/${query(params)}`, session())),
    /** get_list: fields json.dumps'd unless text; filters json.dumps'd; limits only with a page length; headers=self.headers */
    getList: async (
      doctype: string,
      opts: { fields?: unknown; filters?: unknown; limit_start?: number; limit_page_length?: number; order_by?: string } = {},
    ) => {
      const fields = opts.fields === undefined ? '"*"' : typeof opts.fields === 'string' ? opts.fields : pyDumps(opts.fields);
      const params: Record<string, string | number> = { fields };
      if (opts.filters) params.filters = pyDumps(opts.filters);
      if (opts.limit_page_length) {
        params.limit_start = opts.limit_start ?? 0;
        params.limit_page_length = opts.limit_page_length;
      }
      if (opts.order_by) params.order_by = opts.order_by;
      return postProcess(await send(svc, 'GET', `/api/resource/${doctype}${query(params)}`, session([['Accept', 'application/json']])));
    },
    /** get_doc: the name is appended unquoted; fields and filters json.dumps'd */
    getDoc: async (doctype: string, name: string, opts: { fields?: unknown; filters?: unknown } = {}) => {
      const params: Record<string, string> = {};
      if (opts.filters) params.filters = pyDumps(opts.filters);
      if (opts.fields) params.fields = pyDumps(opts.fields);
      return postProcess(await send(svc, 'GET', `/api/resource/${doctype}/${name}${query(params)}`, session()));
    },
    /** insert: session.post(url + '/api/resource/' + quote(doctype), data={'data': json.dumps(doc)}) */
    insert: async (doc: Record<string, unknown>) =>
      postProcess(await send(svc, 'POST', `/api/resource/${pyQuote(String(doc.doctype))}`, session(form), pyUrlencode({ data: pyDumps(doc) }))),
    /** update: session.put(url + '/api/resource/' + quote(doctype) + '/' + quote(name), data={'data': json.dumps(doc)}) */
    update: async (doc: Record<string, unknown>) =>
      postProcess(
        await send(
          svc,
          'PUT',
          `/api/resource/${pyQuote(String(doc.doctype))}/${pyQuote(String(doc.name))}`,
          session(form),
          pyUrlencode({ data: pyDumps(doc) }),
        ),
      ),
    /** get_request: session.get(self.url, params=preprocess(params)), to the site's root */
    getRequest: async (params: Record<string, string>) => postProcess(await send(svc, 'GET', `/${query(params)}`, session())),
    /** post_request: session.post(self.url, data=preprocess(data)): a form with cmd=<method>, to the site's root */
    postRequest: async (data: Record<string, string>) => postProcess(await send(svc, 'POST', '/', session(form), pyUrlencode(data))),
  };
}

/** urllib.parse.quote(s) (safe='/'), as frappe-client's insert and update quote the URL's parts. */
function pyQuote(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) => (/[A-Za-z0-9_.~/-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

describe('Frappe clients, replayed', () => {
  const svc = useService();
  let key: string;
  before(async () => {
    key = svc.adminToken.split(':')[0]!;
    for (const name of ['ann@example.com', 'bob@example.com', 'abe@example.com'])
      await svc.asAdmin('user.create', { name, full_name: name.split('@')[0]!.toUpperCase() });
  });

  it('encodes as Python does (a sanity check of the helpers against literal output)', () => {
    // >>> urlencode({'fields': json.dumps(['name', 'full_name']), 'order_by': 'name desc'})
    expect(pyUrlencode({ fields: pyDumps(['name', 'full_name']), order_by: 'name desc' })).to.equal(
      'fields=%5B%22name%22%2C+%22full_name%22%5D&order_by=name+desc',
    );
    // >>> urlencode({'fields': '"*"'}) ; urlencode({'data': json.dumps({'a': 'é', 'b': [1, True, None]})})
    expect(pyUrlencode({ fields: '"*"' })).to.equal('fields=%22%2A%22');
    expect(pyUrlencode({ data: pyDumps({ a: 'é', b: [1, true, null] }) })).to.equal(
      'data=%7B%22a%22%3A+%22%5Cu00e9%22%2C+%22b%22%3A+%5B1%2C+true%2C+null%5D%7D',
    );
    expect(pyQuote('a+b@example.com')).to.equal('a%2Bb%40example.com');
  });

  for (const scheme of ['Basic', 'token'] as const) {
    describe(`with Authorization: ${scheme}`, () => {
      const client = () => frappeClient(svc, scheme === 'Basic' ? basic(svc.adminToken) : bearer(svc.adminToken));
      const mine = `${scheme.toLowerCase()}-new@example.com`;

      it('get_api: frappe.auth.get_logged_user; auth.verify takes the token only in a body (post_request)', async () => {
        expect(await client().getApi('frappe.auth.get_logged_user')).to.equal('Administrator');
        const other = await svc.userWithToken(`${scheme}-verified@example.com`);
        // get_api and post_api put params in the URL, where a secret would reach access logs.
        for (const call of [() => client().getApi('auth.verify', { token: other }), () => client().postApi('auth.verify', { token: other })]) {
          await expectRaises(call, /ValidationError: .*POST body/);
        }
        const identity = (await client().postRequest({ cmd: 'auth.verify', token: other })) as any;
        expect(identity).to.include({ valid: true, user: `${scheme}-verified@example.com` });
      });

      it('the cmd calls reach frappe.client.* (get_value, set_value, insert_many, delete); rename_doc, not served, raises and changes nothing', async () => {
        const kept = `${scheme}-kept@example.com`;
        await svc.asAdmin('user.create', { name: kept, full_name: 'Kept' });
        expect(await client().getRequest({ cmd: 'frappe.client.get_value', doctype: 'User', fieldname: 'full_name', filters: pyDumps(kept) })).to.deep.equal({
          full_name: 'Kept',
        });
        expect(await client().getRequest({ cmd: 'frappe.client.get_value', doctype: 'User', fieldname: 'name', filters: pyDumps(null) })).to.deep.equal({
          name: 'Administrator',
        });
        const set = (await client().postRequest({
          cmd: 'frappe.client.set_value',
          doctype: 'User',
          name: kept,
          fieldname: 'full_name',
          value: 'Changed',
        })) as any;
        expect(set).to.include({ doctype: 'User', name: kept, full_name: 'Changed' });
        const many = `${scheme}-many@example.com`;
        expect(await client().postRequest({ cmd: 'frappe.client.insert_many', docs: pyDumps([{ doctype: 'User', name: many }]) })).to.deep.equal([many]);
        await expectRaises(
          () => client().postRequest({ cmd: 'frappe.client.rename_doc', doctype: 'User', old_name: kept, new_name: 'x@example.com' }),
          'frappe.exceptions.DoesNotExistError: Method not found: frappe.client.rename_doc',
        );
        expect((await svc.asAdmin('user.get', { name: kept })).full_name, 'not renamed').to.equal('Changed');
        expect(await client().postRequest({ cmd: 'frappe.client.delete', doctype: 'User', name: many })).to.equal(null);
        await expectRaises(
          () => client().postRequest({ cmd: 'frappe.client.delete', doctype: 'User', name: many }),
          'frappe.exceptions.DoesNotExistError: User',
        );
      });

      it('post_request and get_request reach the methods this service has', async () => {
        expect(await client().getRequest({ cmd: 'frappe.auth.get_logged_user' })).to.equal('Administrator');
        await client().postRequest({ cmd: 'user.create', name: `${scheme}-cmd@example.com`, enabled: '0' });
        expect(await svc.asAdmin('user.get', { name: `${scheme}-cmd@example.com` })).to.include({ enabled: false });
      });

      it('post_api: generate_keys with ?user=NAME issues a working pair', async () => {
        await svc.asAdmin('user.create', { name: `${scheme}-svc@example.com` });
        const keys = (await client().postApi('frappe.core.doctype.user.user.generate_keys', { user: `${scheme}-svc@example.com` })) as any;
        expect(keys.api_secret).to.be.a('string');
        const whoami = frappeClient(svc, bearer(tokenOf(keys)));
        expect(await whoami.getApi('frappe.auth.get_logged_user')).to.equal(`${scheme}-svc@example.com`);
      });

      it('get_api on generate_keys raises (403: it answers only POST)', async () => {
        await expectRaises(
          () => client().getApi('frappe.core.doctype.user.user.generate_keys', { user: 'ann@example.com' }),
          /frappe\.exceptions\.PermissionError: .*answers only POST/,
        );
      });

      it('get_list: the default (fields "*") and one with fields, filters, limits and order_by', async () => {
        const all = (await client().getList('User')) as any[];
        expect(all.length).to.be.at.least(4);
        expect(all[0]).to.include.keys('name', 'full_name', 'enabled');
        const some = await client().getList('User', {
          fields: ['name', 'full_name'],
          filters: { name: ['like', 'a%@example.com'] },
          limit_start: 0,
          limit_page_length: 20,
          order_by: 'name desc',
        });
        expect(some).to.deep.equal([
          { name: 'ann@example.com', full_name: 'ANN' },
          { name: 'abe@example.com', full_name: 'ABE' },
        ]);
        const listFilters = await client().getList('User', { fields: ['name'], filters: [['User', 'name', 'in', ['bob@example.com']]] });
        expect(listFilters).to.deep.equal([{ name: 'bob@example.com' }]);
      });

      it('get_doc, with and without the fields it may send', async () => {
        const doc = (await client().getDoc('User', 'bob@example.com')) as any;
        expect(doc).to.include({ doctype: 'User', name: 'bob@example.com', full_name: 'BOB' });
        expect(await client().getDoc('User', 'bob@example.com', { fields: ['name'] })).to.deep.equal(doc);
      });

      it('insert, then update of the document it got back', async () => {
        const inserted = (await client().insert({ doctype: 'User', name: mine, full_name: 'New', roles: [] })) as any;
        expect(inserted).to.include({ doctype: 'User', name: mine, full_name: 'New', enabled: 1 });
        const doc = (await client().getDoc('User', mine)) as any;
        doc.full_name = 'Renamed Ü';
        const updated = (await client().update(doc)) as any;
        expect(updated).to.include({ name: mine, full_name: 'Renamed Ü' });
      });

      it('raises on every error body (exc is present): duplicate, bad params, unknown doctype', async () => {
        const attempts: [() => Promise<unknown>, RegExp][] = [
          [() => client().insert({ doctype: 'User', name: 'ann@example.com' }), /DuplicateEntryError: User ann@example.com already exists/],
          [() => client().insert({ doctype: 'User', name: 'bad name!' }), /ValidationError: Invalid params: \/name: must match pattern/],
          [() => client().getList('Customer'), /DoesNotExistError: DocType Customer not found/],
          [() => client().getApi('frappe.client.rename_doc'), /DoesNotExistError: Method not found: frappe.client.rename_doc/],
          [() => client().getApi('frappe.client.get_value', { doctype: 'Customer', fieldname: 'name' }), /DoesNotExistError: DocType Customer not found/],
        ];
        for (const [attempt, expected] of attempts) await expectRaises(attempt, expected, String(expected));
      });
    });
  }

  it("frappe/frappeclient.py's headers (a form content type on a GET without a body) are fine", async () => {
    const headers: [string, string][] = [
      ...SESSION_HEADERS.filter(([k]) => k !== 'Accept'),
      ['Accept', 'application/json'],
      ['content-type', 'application/x-www-form-urlencoded'],
      ...Object.entries(basic(svc.adminToken)),
    ];
    const reply = await send(svc, 'GET', `/api/resource/User?${pyUrlencode({ fields: '["name"]' })}`, headers);
    expect(reply.status).to.equal(200);
    expect(postProcess(reply)).to.deep.include({ name: 'ann@example.com' });
  });

  it('raises on a wrong secret (401 AuthenticationError)', async () => {
    const wrong = frappeClient(svc, basic(`${key}:${newApiSecret()}`));
    await expectRaises(() => wrong.getApi('frappe.auth.get_logged_user'), /frappe\.exceptions\.AuthenticationError: Authentication failed/);
  });
});
