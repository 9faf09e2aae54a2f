/**
 * Frappe's User -> API Access -> Generate Keys: issues a new secret, creating
 * the user's api_key on first use, with an optional expiry, scopes and a
 * grace period for the secret it replaces. With the token cache on (its
 * default), so every change must reach it at once.
 */
import { expect } from 'chai';
import { useService, bearer, tokenOf, sleep, expectError, expectResult } from '../harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('frappe.core.doctype.user.user.generate_keys', () => {
  // A fresh service: fixed names, and MAX_GRACE_SECONDS of its own.
  const svc = useService({ maxGraceSeconds: 3600 });
  let n = 0;
  before(async () => {
    await svc.asAdmin('user.create', { name: 'svc@example.com' });
  });

  /** A fresh user each test, so no test leans on another's key. */
  async function freshUser(roles: string[] = []): Promise<string> {
    const name = `life${++n}@example.com`;
    await svc.asAdmin('user.create', { name, roles });
    return name;
  }
  const whoami = (token: string) => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));
  const works = async (token: string) => expect(expectResult(await whoami(token))).to.be.a('string');
  const fails = async (token: string) => expectError(await whoami(token), -32001, 401);
  const keyDoc = (apiKey: string) => svc.collection('api_keys').findOne({ api_key: apiKey });

  describe('success', () => {
    it('returns api_key and api_secret, and the pair authenticates', async () => {
      const keys = expectResult(await svc.call(GENERATE, { user: 'svc@example.com' }));
      expect(keys).to.have.keys('api_key', 'api_secret', 'expires_at', 'scopes', 'previous_valid_until', 'ratelimits', 'credits', 'ip_allowlist');
      expect(expectResult(await whoami(tokenOf(keys)))).to.equal('svc@example.com');
    });

    it('issues a key with rate limits and credits, and a rotation keeps them unless given', async () => {
      const ratelimits = [{ name: 'minute', limit: 60, duration_ms: 60_000 }];
      const credits = { remaining: 100, refill: { amount: 100, interval: 'daily' } };
      const keys = expectResult(await svc.call(GENERATE, { user: 'svc@example.com', ratelimits, credits }));
      expect(keys).to.deep.include({ ratelimits, credits });
      const rotated = expectResult(await svc.call(GENERATE, { user: 'svc@example.com' }));
      expect(rotated).to.deep.include({ ratelimits, credits });
      const cleared = expectResult(await svc.call(GENERATE, { user: 'svc@example.com', ratelimits: [], credits: null }));
      expect(cleared).to.deep.include({ ratelimits: [], credits: null });
    });

    it('keeps the api_key and replaces the secret at once on every call', async () => {
      const first = expectResult(await svc.call(GENERATE, ['svc@example.com']));
      const second = expectResult(await svc.call(GENERATE, ['svc@example.com']));
      expect(second.api_key).to.equal(first.api_key);
      expect(second.api_secret).to.not.equal(first.api_secret);
      expectError(await whoami(tokenOf(first)), -32001, 401);
      expect(expectResult(await whoami(tokenOf(second)))).to.equal('svc@example.com');
    });

    it('issues a key bound to ip_allowlist (canonical, one entry per range): usable only from there', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user, ip_allowlist: ['10.0.0.0/8', '::ffff:127.0.0.1', '127.0.0.1/32'] }));
      expect(keys.ip_allowlist).to.deep.equal(['10.0.0.0/8', '127.0.0.1']);
      await works(tokenOf(keys)); // the tests call from 127.0.0.1
      const elsewhere = expectResult(await svc.call(GENERATE, { user, ip_allowlist: ['10.0.0.0/8'] }));
      const refused = expectError(await whoami(tokenOf(elsewhere)), -32003, 403);
      expect(refused.message).to.equal('This key may not be used from 127.0.0.1: the address is outside its ip_allowlist');
    });
  });

  describe('permission', () => {
    it('is refused to a caller without System Manager (-32003), and changes nothing', async () => {
      const plain = await svc.userWithToken('plain', ['Token Verifier']);
      const before = await svc.collection('api_keys').findOne({ user: 'svc@example.com' });
      const err = expectError(await svc.call(GENERATE, { user: 'svc@example.com' }, plain), -32003);
      expect(err.message).to.match(/System Manager/);
      const after = await svc.collection('api_keys').findOne({ user: 'svc@example.com' });
      expect(after!.secret_hash).to.equal(before!.secret_hash);
      // not even for itself
      expectError(await svc.call(GENERATE, { user: 'plain' }, plain), -32003);
    });
  });

  describe('bad params', () => {
    it('gives -32602 for bad params', async () => {
      expectError(await svc.call(GENERATE, {}), -32602);
      expectError(await svc.call(GENERATE, { user: '' }), -32602);
      expectError(await svc.call(GENERATE, { user: ['x'] }), -32602);
      expectError(await svc.call(GENERATE, { user: 'svc@example.com', extra: 1 }), -32602);
      expectError(await svc.call(GENERATE, { user: 'svc@example.com', ratelimits: [{ name: 'x', limit: -1, duration_ms: 1000 }] }), -32602);
      expectError(await svc.call(GENERATE, { user: 'svc@example.com', credits: { remaining: 1, refill: { amount: 1, interval: 'hourly' } } }), -32602);
      const twice = [
        { name: 'x', limit: 1, duration_ms: 1000 },
        { name: 'x', limit: 1, duration_ms: 1000 },
      ];
      expect(expectError(await svc.call(GENERATE, { user: 'svc@example.com', ratelimits: twice }), -32602).data[0].path).to.equal('/ratelimits/1/name');
    });

    it('refuses grace_seconds above MAX_GRACE_SECONDS or below 0 (-32602), and changes nothing', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      const err = expectError(await svc.call(GENERATE, { user, grace_seconds: 3601 }), -32602);
      expect(err.data).to.deep.equal([{ path: '/grace_seconds', message: 'must be at most 3600 (MAX_GRACE_SECONDS)' }]);
      expectError(await svc.call(GENERATE, { user, grace_seconds: -1 }), -32602);
      expectError(await svc.call(GENERATE, { user, grace_seconds: 1.5 }), -32602);
      await works(tokenOf(first));
    });

    it('refuses an expires_at in the past or malformed (-32602)', async () => {
      const user = await freshUser();
      const past = expectError(await svc.call(GENERATE, { user, expires_at: '2020-01-01T00:00:00Z' }), -32602);
      expect(past.data).to.deep.equal([{ path: '/expires_at', message: 'must be a time in the future' }]);
      expectError(await svc.call(GENERATE, { user, expires_at: 'tomorrow' }), -32602);
      // A leap second passes the date-time format, but Date cannot read it.
      const leap = expectError(await svc.call(GENERATE, { user, expires_at: '2030-06-30T23:59:60Z' }), -32602);
      expect(leap.data[0].path).to.equal('/expires_at');
      expectError(await svc.call('auth.keys.get', { user }), -32004); // nothing was created
    });

    it('refuses malformed scopes (-32602)', async () => {
      const user = await freshUser();
      for (const scopes of [['user.'], ['*.user'], ['user.*.get'], [''], 'user.*', ['a b']]) {
        expectError(await svc.call(GENERATE, { user, scopes }), -32602);
      }
      expectError(await svc.call('auth.keys.get', { user }), -32004);
    });

    it('refuses an ip_allowlist entry that is no address or range, naming it; too many entries; a non-list (-32602)', async () => {
      const user = await freshUser();
      const err = expectError(await svc.call(GENERATE, { user, ip_allowlist: ['2001:db8::/129'] }), -32602);
      expect(err.data).to.deep.equal([{ path: '/ip_allowlist/0', message: '"2001:db8::/129" has a prefix length other than 0 to 128' }]);
      const many = Array.from({ length: 101 }, (_, i) => `10.0.0.${i}`);
      for (const ip_allowlist of [many, '10.0.0.0/8', [''], [7], ['10.0.0.1', '10.0.0.1'], ['x'.repeat(65)]]) {
        expectError(await svc.call(GENERATE, { user, ip_allowlist }), -32602);
      }
      expectError(await svc.call('auth.keys.get', { user }), -32004);
    });
  });

  describe('not found', () => {
    it('gives -32004 for an unknown user, and creates no key', async () => {
      const err = expectError(await svc.call(GENERATE, { user: 'ghost' }), -32004);
      expect(err.message).to.equal('User ghost not found');
      expect(await svc.collection('api_keys').countDocuments({ user: 'ghost' })).to.equal(0);
    });
  });

  describe('storage', () => {
    it('stores the ip_allowlist canonical, keeps it on a rotation that names none, and replaces it on one that does', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user, ip_allowlist: ['2001:DB8:0::/32', '127.0.0.0/8'] }));
      expect((await keyDoc(first.api_key))!.ip_allowlist).to.deep.equal(['2001:db8::/32', '127.0.0.0/8']);
      expect(expectResult(await svc.call(GENERATE, { user })).ip_allowlist).to.deep.equal(['2001:db8::/32', '127.0.0.0/8']);
      expectResult(await svc.call(GENERATE, { user, ip_allowlist: [] }));
      expect((await keyDoc(first.api_key))!.ip_allowlist).to.deep.equal([]);
    });

    it('stores only a SHA-256 hash of the secret', async () => {
      const keys = expectResult(await svc.call(GENERATE, { user: 'svc@example.com' }));
      const doc = await svc.collection('api_keys').findOne({ api_key: keys.api_key });
      expect(doc).to.not.equal(null);
      expect(JSON.stringify(doc)).to.not.include(keys.api_secret);
      expect(doc!.secret_hash).to.match(/^[0-9a-f]{64}$/);
    });

    it('stores the previous secret only as a hash, and forgets it after a rotation without grace', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      const second = expectResult(await svc.call(GENERATE, { user, grace_seconds: 60 }));
      let doc = await keyDoc(first.api_key);
      expect(doc!.previous_secret_hash).to.match(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(doc)).to.not.include(first.api_secret).and.not.include(second.api_secret);
      expectResult(await svc.call(GENERATE, { user }));
      doc = await keyDoc(first.api_key);
      expect(doc!.previous_secret_hash).to.equal(null);
    });

    it('stores one key per user with the expiry and scopes asked for, and audits keys.generate, then keys.rotate', async () => {
      const user = await freshUser();
      const expires = new Date(Date.now() + 3_600_000).toISOString();
      const first = expectResult(await svc.call(GENERATE, { user, expires_at: expires, scopes: ['auth.verify'] }));
      expectResult(await svc.call(GENERATE, { user }));
      const docs = await svc.collection('api_keys').find({ user }).toArray();
      expect(docs).to.have.length(1);
      expect(docs[0]).to.include({ api_key: first.api_key });
      expect(docs[0]!.scopes).to.deep.equal(['auth.verify']);
      expect(docs[0]!.ip_allowlist).to.deep.equal([]);
      expect(docs[0]!.expires_at.toISOString()).to.equal(expires);
      const audit = expectResult(await svc.call('auth.audit.list', { user }));
      expect(
        audit.filter((e: { action: string }) => e.action.startsWith('keys.')).map((e: { action: string; api_key: string }) => [e.action, e.api_key]),
      ).to.deep.equal([
        ['keys.rotate', first.api_key],
        ['keys.generate', first.api_key],
      ]);
    });
  });

  describe('grace_seconds', () => {
    it('keeps the previous secret working for grace_seconds, and only the previous one', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      const second = expectResult(await svc.call(GENERATE, { user, grace_seconds: 600 }));
      expect(second.api_key).to.equal(first.api_key);
      expect(Date.parse(second.previous_valid_until) - Date.now()).to.be.within(590_000, 600_000);
      await works(tokenOf(first));
      await works(tokenOf(second));
      // A further rotation without grace ends both older secrets at once.
      const third = expectResult(await svc.call(GENERATE, { user }));
      expect(third.previous_valid_until).to.equal(null);
      await fails(tokenOf(first));
      await fails(tokenOf(second));
      await works(tokenOf(third));
    });

    it('stops the previous secret when the grace period ends, even while it is cached', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      expectResult(await svc.call(GENERATE, { user, grace_seconds: 1 }));
      await works(tokenOf(first)); // now cached
      await sleep(1100);
      await fails(tokenOf(first));
    });
  });

  describe('expires_at', () => {
    it('stops the token at expires_at; only the right secret learns that it expired', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user, expires_at: new Date(Date.now() + 1500).toISOString() }));
      await works(tokenOf(keys));
      await sleep(1600);
      const expired = await fails(tokenOf(keys));
      const wrong = await fails(`${keys.api_key}:${(await svc.call(GENERATE, { user: await freshUser() })).body.result.api_secret}`);
      expect(expired.message).to.include('expired');
      expect(wrong.message).to.not.include('expired');
    });

    it('keeps the expiry on rotation, refuses to rotate an expired key silently, and takes a new expiry', async () => {
      const user = await freshUser();
      const soon = new Date(Date.now() + 1000).toISOString();
      const first = expectResult(await svc.call(GENERATE, { user, expires_at: soon }));
      const rotated = expectResult(await svc.call(GENERATE, { user }));
      expect(rotated.expires_at).to.equal(first.expires_at);
      await sleep(1100);
      const err = expectError(await svc.call(GENERATE, { user }), -32602);
      expect(err.data[0].path).to.equal('/expires_at');
      const renewed = expectResult(await svc.call(GENERATE, { user, expires_at: null }));
      expect(renewed.expires_at).to.equal(null);
      await works(tokenOf(renewed));
    });
  });

  describe('concurrency', () => {
    it('under 20 concurrent calls for one user leaves one api_key and exactly one working secret', async () => {
      await svc.asAdmin('user.create', { name: 'racer' });
      const replies = await Promise.all(Array.from({ length: 20 }, () => svc.call(GENERATE, { user: 'racer' })));
      const keys = replies.map(expectResult);
      expect(new Set(keys.map((k) => k.api_key)).size).to.equal(1);
      expect(await svc.collection('api_keys').countDocuments({ user: 'racer' })).to.equal(1);
      const working = [];
      for (const k of keys) {
        if ((await whoami(tokenOf(k))).status === 200) working.push(k);
      }
      expect(working).to.have.length(1);
    });
  });
});
