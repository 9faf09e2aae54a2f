/**
 * Issue 15, item 4: per-key IP allowlists over real HTTP, on every door
 * (JSON-RPC, /api/method, /api/resource, /metrics), with the client address
 * the service really sees. The service listens on '::', so it is reached
 * both from 127.0.0.1 (a dual-stack socket reports ::ffff:127.0.0.1, read as
 * 127.0.0.1) and from ::1. TRUSTED_PROXIES trusts 127.0.0.1 only: a request
 * from there may name another client in X-Forwarded-For, as a proxy would,
 * and one from ::1 cannot (a forged header).
 */
import net from 'node:net';
import { expect } from 'chai';
import { useService, expectError, expectResult, expectFrappeError, tokenOf, ISSUED_SECRETS, type ServiceFixture } from './harness.js';
import { allowlistBeyond, checkCredential } from '../src/auth/containment.js';
import { AppError } from '../src/errors.js';
import { Ranges } from '../src/ip.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
const UPDATE = 'auth.keys.update';
const SM = 'System Manager';

type From = '127.0.0.1' | '::1';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** One request to `svc` from `from`, with `xff` as X-Forwarded-For when given. */
async function request(
  svc: ServiceFixture,
  from: From,
  path: string,
  opts: { token?: string; xff?: string; method?: string; json?: unknown; form?: string } = {},
): Promise<Answer> {
  const { port } = new URL(svc.url);
  const host = from === '::1' ? '[::1]' : from;
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.authorization = `token ${opts.token}`;
  if (opts.xff !== undefined) headers['x-forwarded-for'] = opts.xff;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  if (opts.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(`http://${host}:${port}${path}`, {
    method: opts.method ?? (opts.json === undefined ? 'GET' : 'POST'),
    headers,
    body: opts.form ?? (opts.json === undefined ? undefined : JSON.stringify(opts.json)),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** A JSON-RPC call from `from`. */
function rpc(svc: ServiceFixture, from: From, token: string, method: string, params: unknown = {}, xff?: string): Promise<Answer> {
  return request(svc, from, '/rpc', { token, xff, json: { jsonrpc: '2.0', id: 7, method, params } });
}

/** Each door, called with `token` from `from` (naming `xff`): whether it let the call through, and its refusal's words. */
async function doors(svc: ServiceFixture, token: string, from: From, xff?: string): Promise<{ door: string; ok: boolean; message: string | undefined }[]> {
  const jsonrpc = await rpc(svc, from, token, 'auth.verify', {}, xff);
  const method = await request(svc, from, '/api/method/frappe.auth.get_logged_user', { token, xff });
  const resource = await request(svc, from, '/api/resource/User?limit_page_length=1', { token, xff });
  const metrics = await request(svc, from, '/metrics', { token, xff });
  const frappeMessage = (a: Answer) => (a.status === 403 ? expectFrappeError(a, 403, 'PermissionError')[0] : undefined);
  return [
    { door: 'jsonrpc', ok: jsonrpc.status === 200 && 'result' in jsonrpc.body, message: jsonrpc.body?.error?.message },
    { door: '/api/method', ok: method.status === 200, message: frappeMessage(method) },
    { door: '/api/resource', ok: resource.status === 200, message: frappeMessage(resource) },
    { door: '/metrics', ok: metrics.status === 200, message: metrics.status === 403 ? metrics.body?.error?.message : undefined },
  ];
}

/** Asserts every door refused with 403 / -32003, naming `address`. */
async function refusedEverywhere(svc: ServiceFixture, token: string, from: From, address: string, xff?: string): Promise<void> {
  const jsonrpc = await rpc(svc, from, token, 'auth.verify', {}, xff);
  expect(jsonrpc.status, jsonrpc.text).to.equal(403);
  expect(jsonrpc.body.error.code).to.equal(-32003);
  expect(jsonrpc.body.id, 'the refusal answers the call').to.equal(7);
  for (const d of await doors(svc, token, from, xff)) {
    expect(d.ok, d.door).to.equal(false);
    expect(d.message, d.door).to.equal(`This key may not be used from ${address}: the address is outside its ip_allowlist`);
  }
}

async function allowedEverywhere(svc: ServiceFixture, token: string, from: From, xff?: string): Promise<void> {
  for (const d of await doors(svc, token, from, xff)) expect(d.ok, `${d.door}: ${d.message}`).to.equal(true);
}

describe('per-key IP allowlists (issue 15)', function () {
  this.timeout(60_000);
  const svc = useService({ host: '::', trustedProxies: ['127.0.0.1'], authFailureLimit: 3 });

  /** A System Manager (every door answers it) whose key has `list`, made by Administrator. */
  async function keyed(list: string[] | undefined, roles = [SM]): Promise<{ name: string; token: string }> {
    const name = await svc.newUser(roles);
    const keys = await svc.asAdmin(GENERATE, { user: name, ...(list === undefined ? {} : { ip_allowlist: list }) });
    return { name, token: tokenOf(keys) };
  }

  describe('every door refuses a call from outside the list with -32003 naming the address, and serves one from inside', () => {
    it('a forwarded client inside an IPv4 range is served; one outside is refused by its own address', async () => {
      const { token } = await keyed(['203.0.113.0/24', '2001:db8::/32']);
      await allowedEverywhere(svc, token, '127.0.0.1', '203.0.113.9');
      await allowedEverywhere(svc, token, '127.0.0.1', '198.51.100.1, 2001:db8:5::1');
      await refusedEverywhere(svc, token, '127.0.0.1', '198.51.100.1', '198.51.100.1');
      await refusedEverywhere(svc, token, '127.0.0.1', '2001:db9::1', '203.0.113.9, 2001:db9::1');
    });

    it('a forged X-Forwarded-For from an untrusted peer is ignored: the peer is the client', async () => {
      const { token } = await keyed(['203.0.113.0/24']);
      await refusedEverywhere(svc, token, '::1', '::1', '203.0.113.9');
      await refusedEverywhere(svc, token, '::1', '::1');
    });

    it('/32 and /128 entries are one address each; IPv4 loopback is not ::1', async () => {
      const v6 = await keyed(['::1/128']);
      await allowedEverywhere(svc, v6.token, '::1');
      await refusedEverywhere(svc, v6.token, '127.0.0.1', '127.0.0.1');
      const v4 = await keyed(['127.0.0.1/32']);
      await allowedEverywhere(svc, v4.token, '127.0.0.1');
      await refusedEverywhere(svc, v4.token, '::1', '::1');
      // The proxy named a client: that client, not the proxy, is checked.
      await refusedEverywhere(svc, v4.token, '127.0.0.1', '127.0.0.2', '127.0.0.2');
    });

    it('/0 entries: 0.0.0.0/0 is every IPv4 client and no IPv6 one; ::/0 is everyone', async () => {
      const v4 = await keyed(['0.0.0.0/0']);
      await allowedEverywhere(svc, v4.token, '127.0.0.1');
      await allowedEverywhere(svc, v4.token, '127.0.0.1', '255.255.255.255');
      await refusedEverywhere(svc, v4.token, '::1', '::1');
      const all = await keyed(['::/0']);
      await allowedEverywhere(svc, all.token, '::1');
      await allowedEverywhere(svc, all.token, '127.0.0.1');
    });

    it('IPv4-mapped addresses: a mapped entry is stored as IPv4, and a mapped client is checked and named as IPv4', async () => {
      const { name, token } = await keyed(['::ffff:203.0.113.0/120', '::FFFF:198.51.100.7']);
      expect((await svc.asAdmin('auth.keys.get', { user: name })).ip_allowlist).to.deep.equal(['203.0.113.0/24', '198.51.100.7']);
      await allowedEverywhere(svc, token, '127.0.0.1', '::ffff:203.0.113.200');
      await allowedEverywhere(svc, token, '127.0.0.1', '::ffff:c633:6407');
      await refusedEverywhere(svc, token, '127.0.0.1', '198.51.100.8', '::ffff:198.51.100.8');
    });

    it('a malformed forwarded entry is the client: refused, named, never skipped to the forged address left of it', async () => {
      const { token } = await keyed(['203.0.113.0/24']);
      await refusedEverywhere(svc, token, '127.0.0.1', 'unparsable:bogus', '203.0.113.9, bogus');
      // Named, but never with a secret in it: the name reaches the answer and the log.
      const secret = 'tas_' + 'a1B2'.repeat(7) + 'xy';
      await refusedEverywhere(svc, token, '127.0.0.1', `unparsable:${'x'.repeat(40)}tas_[withheld]`, `203.0.113.9, ${'x'.repeat(40)}${secret}`);
      expect(svc.logs.join('\n')).not.to.include(secret.slice(4));
    });

    it('an empty list, or none, is anywhere', async () => {
      for (const list of [[], undefined]) {
        const { token } = await keyed(list);
        await allowedEverywhere(svc, token, '::1');
        await allowedEverywhere(svc, token, '127.0.0.1', '198.51.100.1');
      }
    });

    it('a batch is refused whole, once', async () => {
      const { token } = await keyed(['203.0.113.0/24']);
      const batch = [1, 2].map((id) => ({ jsonrpc: '2.0', id, method: 'auth.verify' }));
      const reply = await request(svc, '::1', '/rpc', { token, json: batch });
      expect(reply.status, reply.text).to.equal(403);
    });
  });

  describe('a refusal is not a failed guess (AUTH_FAILURE_LIMIT is 3 here)', () => {
    it('many refusals from outside leave the address and the key under their failure limits, and are logged as warnings', async () => {
      const { token } = await keyed(['203.0.113.0/24']);
      const apiKey = token.split(':')[0]!;
      for (let i = 0; i < 8; i++) expect((await rpc(svc, '127.0.0.1', token, 'auth.verify', {}, '198.51.100.77')).status).to.equal(403);
      // A wrong secret from that address, and for that key, is still only a 401: nothing was counted.
      expect((await rpc(svc, '127.0.0.1', `${apiKey}:tas_${'x'.repeat(30)}`, 'auth.verify', {}, '198.51.100.77')).status).to.equal(401);
      const warned = svc.logs.filter((l) => l.includes('"outcome":"ip_not_allowed"') && l.includes('198.51.100.77'));
      expect(warned.length).to.equal(8);
      expect(warned[0]).to.include(apiKey).and.include('"level":40');
    });
  });

  describe('the failure limits count an IPv6 client by its /64, an IPv4 client by its address', () => {
    const wrong = 'tas0000000000000000000000:tas_000000000000000000000000000000';

    it('wrong guesses from different addresses of one /64 share a limit; another /64 does not', async function () {
      this.timeout(30_000);
      const statuses: number[] = [];
      for (let i = 1; i <= 5; i++) statuses.push((await rpc(svc, '127.0.0.1', wrong, 'auth.verify', {}, `2001:db8:aa:1::${i}`)).status);
      expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
      expect((await rpc(svc, '127.0.0.1', wrong, 'auth.verify', {}, '2001:db8:aa:2::1')).status).to.equal(401);
      // The right token still gets in from the blocked /64.
      expect((await rpc(svc, '127.0.0.1', svc.adminToken, 'auth.verify', {}, '2001:db8:aa:1::99')).status).to.equal(200);
    });

    it('IPv4 clients are counted one address each', async function () {
      this.timeout(30_000);
      for (let i = 0; i < 3; i++) expect((await rpc(svc, '127.0.0.1', wrong, 'auth.verify', {}, '198.51.100.20')).status).to.equal(401);
      expect((await rpc(svc, '127.0.0.1', wrong, 'auth.verify', {}, '198.51.100.20')).status).to.equal(429);
      expect((await rpc(svc, '127.0.0.1', wrong, 'auth.verify', {}, '198.51.100.21')).status).to.equal(401);
    });

    it('behind the trusted proxy, the limits see the forwarded client, not the proxy', async function () {
      this.timeout(30_000);
      for (let i = 0; i < 4; i++) await rpc(svc, '127.0.0.1', wrong, 'auth.verify', {}, '198.51.100.30');
      // The proxy's own address (and everyone else behind it) is not blocked.
      expect((await rpc(svc, '127.0.0.1', wrong, 'auth.verify', {}, '198.51.100.31')).status).to.equal(401);
      expect((await rpc(svc, '127.0.0.1', wrong, 'auth.verify')).status).to.equal(401);
    });
  });

  describe('setting the list', () => {
    it('an invalid entry is -32602 naming the entry and its index; nothing is written', async () => {
      const name = await svc.newUser();
      const before = await svc.stored();
      const err = expectError(await svc.call(GENERATE, { user: name, ip_allowlist: ['10.0.0.0/8', 'ten.0.0.0/8', '10.1.2.3/8'] }), -32602);
      expect(err.data).to.deep.equal([
        { path: '/ip_allowlist/1', message: '"ten.0.0.0/8" is not an IP address or CIDR range (such as 10.0.0.0/8, 2001:db8::/32 or 203.0.113.7)' },
        { path: '/ip_allowlist/2', message: '"10.1.2.3/8" has bits set past its /8: the range is 10.0.0.0/8' },
      ]);
      expect(await svc.stored()).to.equal(before);
    });

    it('auth.keys.update sets and clears it, and the change applies to the cached key at once', async () => {
      const { name, token } = await keyed(undefined);
      await allowedEverywhere(svc, token, '::1');
      expect(expectResult(await svc.call(UPDATE, { user: name, ip_allowlist: ['2001:db8::/32'] })).ip_allowlist).to.deep.equal(['2001:db8::/32']);
      await refusedEverywhere(svc, token, '::1', '::1');
      const events = await svc.collection('key_events').countDocuments({ kind: 'key', api_key: token.split(':')[0] });
      expect(events, 'the change was announced to other instances').to.be.greaterThan(0);
      expect(expectResult(await svc.call(UPDATE, { user: name, ip_allowlist: [] })).ip_allowlist).to.deep.equal([]);
      await allowedEverywhere(svc, token, '::1');
    });

    it("takes the list as Frappe's clients send it: a form field holding JSON, on /api/method", async () => {
      const name = await svc.newUser();
      const body = new URLSearchParams({ user: name, ip_allowlist: JSON.stringify(['::ffff:203.0.113.0/120']) }).toString();
      const reply = await request(svc, '127.0.0.1', '/api/method/frappe.core.doctype.user.user.generate_keys', {
        token: svc.adminToken,
        method: 'POST',
        form: body,
      });
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.body.message.ip_allowlist).to.deep.equal(['203.0.113.0/24']);
      ISSUED_SECRETS.add(reply.body.message.api_secret);
    });

    it('a rotation keeps the list unless given one', async () => {
      const { name } = await keyed(['203.0.113.0/24']);
      expect(expectResult(await svc.call(GENERATE, { user: name })).ip_allowlist).to.deep.equal(['203.0.113.0/24']);
      expect(expectResult(await svc.call(GENERATE, { user: name, ip_allowlist: ['198.51.100.0/24'] })).ip_allowlist).to.deep.equal(['198.51.100.0/24']);
    });

    it('auth.verify reports the list of the caller, and of a token it checks', async () => {
      const { token } = await keyed(['203.0.113.0/24', '::1']);
      expect(expectResult(await svc.call('auth.verify', {}, svc.adminToken)).ip_allowlist).to.deep.equal([]);
      expect(expectResult(await svc.call('auth.verify', { token })).ip_allowlist).to.deep.equal(['203.0.113.0/24', '::1']);
      expect((await rpc(svc, '::1', token, 'auth.verify')).body.result.ip_allowlist).to.deep.equal(['203.0.113.0/24', '::1']);
    });
  });

  describe('containment: a key bound to addresses never makes or widens a key usable from elsewhere', () => {
    /** Calls from inside 10.0.0.0/8 (forwarded by the trusted proxy). */
    const inside = (token: string, method: string, params: unknown) => rpc(svc, '127.0.0.1', token, method, params, '10.1.2.3');

    it('refuses a key with no list, a wider range, or a range outside its own, and writes nothing', async () => {
      const me = await keyed(['10.0.0.0/8', '2001:db8::/32']);
      const other = await svc.newUser();
      const before = await svc.stored();
      const none = expectError(await inside(me.token, GENERATE, { user: other, ip_allowlist: [] }), -32003);
      expect(none.message).to.equal(`ip_allowlist [] is wider than this token's ip_allowlist ["10.0.0.0/8","2001:db8::/32"]: anywhere lies outside it`);
      // A new key asked for without a list would work anywhere.
      expect(expectError(await inside(me.token, GENERATE, { user: other }), -32003).message).to.match(/^ip_allowlist \[\] is wider/);
      const wider = expectError(await inside(me.token, GENERATE, { user: other, ip_allowlist: ['10.0.0.0/7', '10.1.0.0/16'] }), -32003);
      expect(wider.message).to.match(/: 10\.0\.0\.0\/7 lies outside it$/);
      expectError(await inside(me.token, GENERATE, { user: other, ip_allowlist: ['0.0.0.0/0'] }), -32003);
      expectError(await inside(me.token, GENERATE, { user: other, ip_allowlist: ['::/0'] }), -32003);
      expectError(await inside(me.token, UPDATE, { user: me.name, ip_allowlist: ['192.168.0.0/16'] }), -32003);
      expectError(await inside(me.token, UPDATE, { user: me.name, ip_allowlist: [] }), -32003);
      expect(await svc.stored()).to.equal(before);
    });

    it('refuses to rotate a key that keeps a wider list (kept from the key), and to grant roles', async () => {
      const me = await keyed(['10.0.0.0/8']);
      const open = await keyed(undefined, []);
      const err = expectError(await inside(me.token, GENERATE, { user: open.name }), -32003);
      expect(err.message).to.equal(
        `ip_allowlist [] (kept from the key: give ip_allowlist to narrow it) is wider than this token's ip_allowlist ["10.0.0.0/8"]: anywhere lies outside it`,
      );
      const roles = expectError(await inside(me.token, 'user.update', { name: open.name, roles: [SM] }), -32003);
      expect(roles.message).to.equal('changing roles needs a token without scopes, expiry or IP allowlist');
    });

    it('allows a key within its own list, for itself or another user', async () => {
      const me = await keyed(['10.0.0.0/8', '2001:db8::/32']);
      const other = await svc.newUser();
      const issued = expectResult(await inside(me.token, GENERATE, { user: other, ip_allowlist: ['10.2.0.0/16', '2001:db8:1::/48', '10.9.9.9'] }));
      expect(issued.ip_allowlist).to.deep.equal(['10.2.0.0/16', '2001:db8:1::/48', '10.9.9.9']);
      expect(expectResult(await inside(me.token, UPDATE, { user: me.name, ip_allowlist: ['10.0.0.0/16'] })).ip_allowlist).to.deep.equal(['10.0.0.0/16']);
      // Now narrowed to 10.0.0.0/16, the same token is refused from 10.1.2.3.
      expectError(await inside(me.token, 'auth.verify', {}), -32003, 403);
    });

    it('the pure rule: each entry inside one of the holder\'s ranges; no holder list: anything; [] is "anywhere"', () => {
      const holder = Ranges.of(['10.0.0.0/8', '2001:db8::/32']);
      expect(allowlistBeyond(null, [])).to.deep.equal([]);
      expect(allowlistBeyond(holder, [])).to.deep.equal(['anywhere']);
      expect(allowlistBeyond(holder, ['10.0.0.0/8', '10.255.255.255', '2001:db8:ffff::/48'])).to.deep.equal([]);
      expect(allowlistBeyond(holder, ['10.0.0.0/7', '11.0.0.1', '2001:db8::/31', '::/0'])).to.deep.equal(['10.0.0.0/7', '11.0.0.1', '2001:db8::/31', '::/0']);
      const base = { scopes: [], expiresAt: null, roles: [] };
      expect(() => checkCredential({ ...base, ipAllowlist: holder }, { scopes: [], expiresAt: null, ipAllowlist: ['10.0.0.0/9'] })).to.not.throw();
      expect(() => checkCredential({ ...base, ipAllowlist: holder }, { scopes: [], expiresAt: null, ipAllowlist: ['12.0.0.0/8'] })).to.throw(AppError);
    });
  });
});

describe('the per-client connection limit behind a trusted proxy', () => {
  const svc = useService({ host: '::', trustedProxies: ['127.0.0.1'], maxConnectionsPerClient: 2 });

  /** Opens `n` connections from `host` and holds them all, then asks for /healthz on each: how many were answered. */
  async function answered(host: string, n: number): Promise<number> {
    const port = Number(new URL(svc.url).port);
    const sockets = await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect({ host, port }, () => resolve(socket));
            socket.on('error', () => {});
          }),
      ),
    );
    const replies = await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<boolean>((resolve) => {
            socket.once('data', () => resolve(true));
            socket.once('close', () => resolve(false));
            socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
          }),
      ),
    );
    for (const s of sockets) s.destroy();
    return replies.filter(Boolean).length;
  }

  it('a trusted proxy is not throttled as one client; an untrusted peer still is', async () => {
    expect(await answered('127.0.0.1', 6), 'the proxy').to.equal(6);
    expect(await answered('::1', 6), 'an untrusted peer').to.equal(2);
  });
});
