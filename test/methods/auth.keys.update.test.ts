import { expect } from 'chai';
import { useSharedService, bearer, tokenOf, sleep, expectError, expectResult } from '../harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('auth.keys.update', () => {
  // Shared: every user here is its own (freshUser).
  const svc = useSharedService();

  /** A fresh user each test, so no test leans on another's key. */
  const freshUser = (roles: string[] = []) => svc.newUser(roles);
  const whoami = (token: string) => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));
  const works = async (token: string) => expect(expectResult(await whoami(token))).to.be.a('string');
  const fails = async (token: string) => expectError(await whoami(token), -32001, 401);

  describe('success', () => {
    it('auth.keys.update moves the expiry; the change reaches the cache at once', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      await works(tokenOf(keys));
      const later = new Date(Date.now() + 1000).toISOString();
      const info = expectResult(await svc.call('auth.keys.update', { user, expires_at: later }));
      expect(info.expires_at).to.equal(later);
      await works(tokenOf(keys));
      await sleep(1100);
      await fails(tokenOf(keys));
      expectResult(await svc.call('auth.keys.update', { user, expires_at: null }));
      await works(tokenOf(keys));
    });

    it('changes the scopes and keeps the secret: the same token is bound by them at once', async () => {
      const user = await freshUser(['System Manager']);
      const keys = expectResult(await svc.call(GENERATE, { user }));
      const info = expectResult(await svc.call('auth.keys.update', { user, scopes: ['auth.verify'] }));
      expect(info).to.include({ user, api_key: keys.api_key, expires_at: null });
      expect(info.scopes).to.deep.equal(['auth.verify']);
      expectResult(await svc.call('auth.verify', {}, tokenOf(keys)));
      expectError(await svc.call('user.get', { name: user }, tokenOf(keys)), -32003);
    });

    it('sets and clears the ip_allowlist and keeps the secret: the same token is bound by it at once', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      await works(tokenOf(keys));
      const info = expectResult(await svc.call('auth.keys.update', { user, ip_allowlist: ['192.0.2.0/24'] }));
      expect(info.ip_allowlist).to.deep.equal(['192.0.2.0/24']);
      const refused = expectError(await whoami(tokenOf(keys)), -32003, 403);
      expect(refused.message).to.equal('This key may not be used from 127.0.0.1: the address is outside its ip_allowlist');
      expect(expectResult(await svc.call('auth.keys.update', { user, ip_allowlist: ['127.0.0.0/8'] })).ip_allowlist).to.deep.equal(['127.0.0.0/8']);
      await works(tokenOf(keys));
      expect(expectResult(await svc.call('auth.keys.update', { user, ip_allowlist: [] })).ip_allowlist).to.deep.equal([]);
      await works(tokenOf(keys));
    });
  });

  describe('not found', () => {
    it('answers -32004 for a user without a key, or no such user', async () => {
      expectError(await svc.call('auth.keys.update', { user: await freshUser(), scopes: [] }), -32004);
      expectError(await svc.call('auth.keys.update', { user: svc.unique('ghost'), scopes: [] }), -32004);
    });
  });

  describe('permission', () => {
    it("is for System Managers only (-32003), even for the caller's own key, and changes nothing", async () => {
      const { name, token } = await svc.newUserWithToken(['Token Verifier']);
      const before = await svc.collection('api_keys').findOne({ user: name });
      const err = expectError(await svc.call('auth.keys.update', { user: name, scopes: [] }, token), -32003);
      expect(err.message).to.equal('auth.keys.update requires the role System Manager');
      expect(await svc.collection('api_keys').findOne({ user: name })).to.deep.equal(before);
    });
  });

  describe('bad params', () => {
    it('refuses bad rate limits and credits (-32602): names twice, out of range, refill without amount', async () => {
      const user = await freshUser();
      expectResult(await svc.call(GENERATE, { user }));
      const twice = expectError(
        await svc.call('auth.keys.update', {
          user,
          ratelimits: [
            { name: 'a', limit: 1, duration_ms: 1000 },
            { name: 'a', limit: 2, duration_ms: 2000 },
          ],
        }),
        -32602,
      );
      expect(twice.data).to.deep.equal([{ path: '/ratelimits/1/name', message: 'the name a is given twice: each limit needs its own' }]);
      for (const ratelimits of [
        [{ name: 'a', limit: 0, duration_ms: 1000 }],
        [{ name: 'a', limit: 1, duration_ms: 99 }],
        [{ name: 'a b', limit: 1, duration_ms: 1000 }],
        [{ name: 'a', limit: 1.5, duration_ms: 1000 }],
        [{ name: 'a', limit: 1 }],
        Array.from({ length: 11 }, (_, i) => ({ name: `n${i}`, limit: 1, duration_ms: 1000 })),
      ]) {
        expectError(await svc.call('auth.keys.update', { user, ratelimits }), -32602);
      }
      for (const credits of [
        { remaining: -1 },
        { remaining: 1e13 },
        { remaining: 1, refill: { interval: 'daily' } },
        { remaining: 1, refill: { amount: 0, interval: 'daily' } },
        { remaining: 1, refill: { amount: 1, interval: 'weekly' } },
        { remaining: 1, refill: { amount: 1, interval: 50 } },
        { refill: null },
      ]) {
        expectError(await svc.call('auth.keys.update', { user, credits }), -32602);
      }
      expect(expectResult(await svc.call('auth.keys.get', { user }))).to.deep.include({ ratelimits: [], credits: null });
    });

    it('refuses nothing to change, bad expiries and scopes, and unknown params (-32602)', async () => {
      const user = await freshUser();
      expectResult(await svc.call(GENERATE, { user }));
      expectError(await svc.call('auth.keys.update', { user }), -32602); // nothing to change
      expectError(await svc.call('auth.keys.update', { user, expires_at: { $gt: 1 } }), -32602);
      const past = expectError(await svc.call('auth.keys.update', { user, expires_at: '2020-01-01T00:00:00Z' }), -32602);
      expect(past.data).to.deep.equal([{ path: '/expires_at', message: 'must be a time in the future' }]);
      expectError(await svc.call('auth.keys.update', { user, scopes: ['user.'] }), -32602);
      expectError(await svc.call('auth.keys.update', { user, api_secret: 'x' }), -32602);
      const bad = expectError(await svc.call('auth.keys.update', { user, ip_allowlist: ['10.0.0.0/8', '10.0.0.256'] }), -32602);
      expect(bad.data).to.deep.equal([
        { path: '/ip_allowlist/1', message: '"10.0.0.256" is not an IP address or CIDR range (such as 10.0.0.0/8, 2001:db8::/32 or 203.0.113.7)' },
      ]);
      expectError(await svc.call('auth.keys.update', { user, ip_allowlist: '10.0.0.0/8' }), -32602);
      expect(expectResult(await svc.call('auth.keys.get', { user })))
        .to.include({ expires_at: null })
        .and.deep.include({ scopes: [], ip_allowlist: [] });
    });
  });

  describe('storage', () => {
    it('writes rate limits and credits to the key (a new balance generation each set), keeping its secret', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      const before = (await svc.collection('api_keys').findOne({ api_key: keys.api_key }))!;
      const ratelimits = [{ name: 'hour', limit: 10, duration_ms: 3_600_000 }];
      const set = { user, ratelimits, credits: { remaining: 7, refill: { amount: 7, interval: 'monthly' } } };
      const info = expectResult(await svc.call('auth.keys.update', set));
      expect(info).to.deep.include({ ratelimits, credits: { remaining: 7, refill: { amount: 7, interval: 'monthly' } } });
      const doc = (await svc.collection('api_keys').findOne({ api_key: keys.api_key }))!;
      expect(doc.secret_hash).to.equal(before.secret_hash);
      expect(doc.ratelimits).to.deep.equal(ratelimits);
      expect(doc.credits).to.include({ remaining: 7 });
      expectResult(await svc.call('auth.keys.update', { user, credits: { remaining: 7 } }));
      const again = (await svc.collection('api_keys').findOne({ api_key: keys.api_key }))!;
      expect(again.credits.generation).to.be.a('string').and.not.equal(doc.credits.generation);
      expect(again.credits.refill).to.equal(null);
      // Omitted, both are kept.
      expect(expectResult(await svc.call('auth.keys.update', { user, scopes: ['auth.verify'] }))).to.deep.include({
        ratelimits,
        credits: { remaining: 7, refill: null },
      });
    });

    it('writes the expiry and scopes to the key, keeps its secret hash, and audits keys.update', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      const before = (await svc.collection('api_keys').findOne({ api_key: keys.api_key }))!;
      const later = new Date(Date.now() + 3_600_000).toISOString();
      expectResult(await svc.call('auth.keys.update', { user, expires_at: later, scopes: ['user.*'], ip_allowlist: ['::ffff:10.0.0.0/104'] }));
      const after = (await svc.collection('api_keys').findOne({ api_key: keys.api_key }))!;
      expect(after.expires_at.toISOString()).to.equal(later);
      expect(after.scopes).to.deep.equal(['user.*']);
      expect(after.ip_allowlist).to.deep.equal(['10.0.0.0/8']);
      expect(after.secret_hash).to.equal(before.secret_hash);
      expect(after.revision).to.be.above(before.revision ?? 0);
      const [entry] = expectResult(await svc.call('auth.audit.list', { user, action: 'keys.update' }));
      expect(entry).to.include({ actor: 'Administrator', target: user, api_key: keys.api_key });
    });
  });
});
