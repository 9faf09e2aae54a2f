/**
 * Every guess counts, on every path, and a refused token tells nothing about
 * whether its api_key exists (SECURITY.md, "Guessing"). Each test here
 * reproduces an attack that worked before the rule was built.
 */
import { expect } from 'chai';
import { newApiKey, newApiSecret } from '../src/auth/token.js';
import { useService, startService, tokenMadeElsewhere, requestFrom, rest, expectError, expectResult, basic, bearer, sleep, tokenOf } from './harness.js';

const CALL = { jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' };
const LIMIT = 3;
const madeUp = () => `${newApiKey()}:${newApiSecret()}`;

describe('failed guesses', function () {
  this.timeout(60_000);
  const svc = useService({ authFailureLimit: LIMIT, authFailureWindowMs: 60_000 });

  const lookups = async () => (await svc.app.services.metrics.authDbLookups.get()).values[0]?.value ?? 0;
  const verify = (token: string, as: string) => svc.call('auth.verify', { token }, as);

  describe('through auth.verify {token}', () => {
    it('counts made-up tokens against the verifier, then answers -32029 with the wait, never {valid: false}', async () => {
      const verifier = await svc.userWithToken('verifier-1', ['Token Verifier']);
      for (let i = 0; i < LIMIT; i++) expect(expectResult(await verify(madeUp(), verifier))).to.deep.equal({ valid: false });
      const limited = expectError(await verify(madeUp(), verifier), -32029);
      expect(limited.data.retry_after).to.be.within(1, 60);
      // A good token is still checked for it (cached, no lookup needed), and the verifier's own calls go on.
      const good = await svc.userWithToken('checked-1');
      expect(expectResult(await verify(good, verifier)).valid).to.equal(true);
      expect(expectResult(await svc.call('auth.verify', {}, verifier)).user).to.equal('verifier-1');
    });

    it('counts wrong secrets against the api_key they name, across verifiers and doors', async () => {
      const target = await svc.userWithToken('target-1');
      const key = target.split(':')[0]!;
      const a = await svc.userWithToken('verifier-2', ['Token Verifier']);
      const b = await svc.userWithToken('verifier-3', ['Token Verifier']);
      for (let i = 0; i < LIMIT - 1; i++) expectResult(await verify(`${key}:${newApiSecret()}`, a));
      // One more through the header, from an address of its own: the key is now at its limit.
      expect((await requestFrom(svc, '127.0.1.1', 'POST', '/rpc', { body: CALL, authorization: `token ${key}:${newApiSecret()}` })).status).to.equal(401);
      expectError(await verify(`${key}:${newApiSecret()}`, b), -32029);
      // The right secret is never refused for others' guesses.
      expect(expectResult(await verify(target, b)).user).to.equal('target-1');
    });

    it('answers 429 with Retry-After on the REST door', async () => {
      const verifier = await svc.userWithToken('verifier-4', ['Token Verifier']);
      const ask = () => rest(svc, 'POST', '/api/method/auth.verify', { token: verifier, type: 'application/json', body: JSON.stringify({ token: madeUp() }) });
      for (let i = 0; i < LIMIT; i++) expect((await ask()).status).to.equal(200);
      const limited = await ask();
      expect(limited.status).to.equal(429);
      expect(limited.body.exc_type).to.equal('TooManyRequestsError');
      expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
    });

    it('bounds the lookups one verifier causes to twice the limit', async () => {
      const verifier = await svc.userWithToken('verifier-5', ['Token Verifier']);
      const before = await lookups();
      await Promise.all(Array.from({ length: 40 }, () => verify(madeUp(), verifier)));
      expect(await lookups()).to.be.at.most(before + 2 * LIMIT);
    });
  });

  describe('through the Authorization header', () => {
    it('bounds the lookups of an address over its limit, with wrong secrets spread over many known keys', async () => {
      const keys: string[] = [];
      for (let i = 0; i < 40; i++) keys.push((await svc.userWithToken(`known-${i}`)).split(':')[0]!);
      const before = await lookups();
      // Three passes over 40 known keys, each pass after the cached records aged past the re-read interval.
      for (let pass = 0; pass < 3; pass++) {
        await Promise.all(keys.map((k) => requestFrom(svc, '127.0.2.1', 'POST', '/rpc', { body: CALL, authorization: `token ${k}:${newApiSecret()}` })));
        await sleep(1100);
      }
      expect(await lookups(), 'at most 2 x AUTH_FAILURE_LIMIT lookups for this address').to.be.at.most(before + 2 * LIMIT);
    });

    it('bounds the lookups of a burst of concurrent made-up tokens from one address', async () => {
      const before = await lookups();
      const replies = await Promise.all(
        Array.from({ length: 50 }, () => requestFrom(svc, '127.0.2.2', 'POST', '/rpc', { body: CALL, authorization: `token ${madeUp()}` })),
      );
      expect(replies.every((r) => r.status === 401 || r.status === 429)).to.equal(true);
      expect(await lookups()).to.be.at.most(before + 2 * LIMIT);
    });

    it('lets a burst of concurrent calls with one good key this instance has never read in: they share one lookup, charged once', async () => {
      const token = await tokenMadeElsewhere(svc, 'burst');
      const replies = await Promise.all(
        Array.from({ length: 10 * LIMIT }, () => requestFrom(svc, '127.0.2.4', 'POST', '/rpc', { body: CALL, authorization: `token ${token}` })),
      );
      expect(replies.map((r) => r.status)).to.deep.equal(replies.map(() => 200));
    });

    it('lets a secret rotated on this instance in at once, from an address whose allowance is spent', async () => {
      for (let i = 0; i < 2 * LIMIT + 2; i++) await requestFrom(svc, '127.0.2.3', 'POST', '/rpc', { body: CALL, authorization: `token ${madeUp()}` });
      await svc.userWithToken('behind-nat');
      const rotated = await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: 'behind-nat' });
      await sleep(50); // the instance reads a changed key again by itself, off the request path
      const reply = await requestFrom(svc, '127.0.2.3', 'POST', '/rpc', { body: CALL, authorization: `token ${rotated.api_key}:${rotated.api_secret}` });
      expect(reply.status).to.equal(200);
      expect(reply.body.result).to.equal('behind-nat');
    });
  });

  describe('a refused token tells nothing about its api_key', () => {
    it('answers an unknown key and a known key with a wrong secret with the same status, headers and body', async () => {
      const known = (await svc.userWithToken('probed')).split(':')[0]!;
      const unknown = newApiKey();
      const ask = (key: string, from: string) => requestFrom(svc, from, 'POST', '/rpc', { body: CALL, authorization: `token ${key}:${newApiSecret()}` });
      const [a, b] = [await ask(known, '127.0.3.1'), await ask(unknown, '127.0.3.2')];
      expect(a.status).to.equal(401);
      expect(b.status).to.equal(a.status);
      expect(b.body).to.deep.equal(a.body);
      expect(b.headers['www-authenticate']).to.equal(a.headers['www-authenticate']);
    });

    it('does the same database work for both: one fresh read per refusal, whether the key exists or not', async () => {
      // No failure limit in the way here: it would turn later guesses into 429s.
      const svc = await startService();
      after(() => svc.close());
      const lookups = async () => (await svc.app.services.metrics.authDbLookups.get()).values[0]?.value ?? 0;
      const token = await svc.userWithToken('probed-2');
      const known = token.split(':')[0]!;
      // Issuing the key made the instance read it again, off the request path;
      // a call with the token waits for that read (or hits the cache), so it
      // is not still under way, to be shared by the first refusal, when we count.
      expect((await requestFrom(svc, '127.0.3.6', 'POST', '/rpc', { body: CALL, authorization: `token ${token}` })).status).to.equal(200);
      const unknown = newApiKey();
      const work = async (key: string, from: string) => {
        const before = await lookups();
        for (let i = 0; i < 5; i++) await requestFrom(svc, from, 'POST', '/rpc', { body: CALL, authorization: `token ${key}:${newApiSecret()}` });
        return (await lookups()) - before;
      };
      const [forKnown, forUnknown] = [await work(known, '127.0.3.4'), await work(unknown, '127.0.3.5')];
      expect(forKnown).to.equal(5);
      expect(forUnknown).to.equal(forKnown);
    });
  });

  describe('GET /metrics', () => {
    const scrape = (headers: Record<string, string> = {}) => fetch(`${svc.url}/metrics`, { headers });

    it('answers 401 without credentials or with a bad token, like every other door', async () => {
      const none = await scrape();
      expect(none.status).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.equal('token');
      expect(await none.text()).to.not.include('tokenauth_');
      expect((await scrape(basic(madeUp()))).status).to.equal(401);
    });

    it('answers 403 to a token whose user lacks Metrics Reader and System Manager', async () => {
      const plain = await svc.userWithToken('no-metrics');
      const reply = await scrape(bearer(plain));
      expect(reply.status).to.equal(403);
      expect(await reply.text()).to.not.include('tokenauth_auth_failures_total');
    });

    it("serves a Metrics Reader's Basic credentials, as Prometheus' basic_auth sends them", async () => {
      const reader = await svc.userWithToken('prometheus', ['Metrics Reader']);
      const [username, password] = reader.split(':');
      const reply = await scrape({ Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });
      expect(reply.status).to.equal(200);
      expect(await reply.text()).to.include('tokenauth_auth_failures_total');
      expect((await scrape(bearer(svc.adminToken))).status, 'System Manager').to.equal(200);
    });

    it('serves a scoped token only when a scope names metrics (found by an outside attacker)', async () => {
      await svc.asAdmin('user.create', { name: 'scoped-reader', roles: ['Metrics Reader'] });
      const scoped = async (scopes: string[]) => tokenOf(await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: 'scoped-reader', scopes }));
      const refused = await scrape(bearer(await scoped(['auth.verify'])));
      expect(refused.status).to.equal(403);
      expect(await refused.text()).to.not.include('tokenauth_');
      expect((await scrape(bearer(await scoped(['metrics'])))).status).to.equal(200);
    });
  });

  describe('without credentials (found by an outside attacker)', () => {
    it('counts each request against the address, and past the limit answers 429 after the tarpit', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT + 2; i++) statuses.push((await requestFrom(svc, '127.0.2.9', 'POST', '/rpc', { body: CALL })).status);
      expect(statuses.slice(0, LIMIT)).to.deep.equal(Array(LIMIT).fill(401));
      expect(statuses.at(-1)).to.equal(429);
    });
  });
});
