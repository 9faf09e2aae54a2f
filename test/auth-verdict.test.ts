/** src/auth/verdict.ts on its own: the cache, limits and last use are real; the database is a map. */
import { expect } from 'chai';
import type { Metrics } from '../src/metrics.js';
import { TokenJudge, fits } from '../src/auth/verdict.js';
import { TokenCache } from '../src/auth/token-cache.js';
import { GuessLimits } from '../src/auth/guess-limits.js';
import { LastUse } from '../src/auth/last-use.js';
import type { KeyRecord } from '../src/auth/key-record.js';
import { keyRecord } from './key-records.js';
import { newApiKey, newApiSecret, secretDigest, type TokenParts } from '../src/auth/token.js';

const LIMIT = 3;

const record = (apiKey: string, secret: string, more: Partial<KeyRecord> = {}): KeyRecord =>
  keyRecord(apiKey, { digest: secretDigest(secret), user: 'someone', roles: ['Role'], ...more });

function setup(cacheTtlMs = 60_000) {
  const rows = new Map<string, KeyRecord>();
  const reads: string[] = [];
  const writes: string[] = [];
  const failures: string[] = [];
  const cacheResults: string[] = [];
  const metrics = {
    authFailure: (reason: string) => failures.push(reason),
    cache: (result: string) => cacheResults.push(result),
  } as unknown as Metrics;
  // eslint-disable-next-line @typescript-eslint/require-await -- the read TokenCache takes answers with a promise, as the database's does
  const cache = new TokenCache({ ttlMs: cacheTtlMs, size: 100 }, async (apiKey) => {
    reads.push(apiKey);
    const found = rows.get(apiKey);
    return found ? { ...found } : null; // a fresh object per read, as from the database
  });
  const limits = new GuessLimits({ limit: LIMIT, windowMs: 60_000, maxTracked: 100 });
  // eslint-disable-next-line @typescript-eslint/require-await -- the write LastUse takes answers with a promise
  const lastUse = new LastUse(100, async (apiKey) => void writes.push(apiKey));
  const judge = new TokenJudge(cache, limits, lastUse, metrics);
  /** A key in the database, and its token. */
  const key = (more: Partial<KeyRecord> = {}): TokenParts => {
    const token = { apiKey: newApiKey(), apiSecret: newApiSecret() };
    rows.set(token.apiKey, record(token.apiKey, token.apiSecret, more));
    return token;
  };
  return { rows, reads, writes, failures, cacheResults, cache, limits, judge, key };
}

describe('auth/verdict', () => {
  describe('fits', () => {
    const secret = newApiSecret();
    const presented = secretDigest(secret);
    const now = Date.now();

    it('takes the current secret', () => {
      expect(fits(presented, record('k', secret), now)).to.equal(true);
      expect(fits(secretDigest(newApiSecret()), record('k', secret), now)).to.equal(false);
    });

    it('takes the previous secret only while its grace period lasts', () => {
      const rotated = record('k', newApiSecret(), { previousDigest: presented, previousUntil: now + 1000 });
      expect(fits(presented, rotated, now)).to.equal(true);
      expect(fits(presented, rotated, now + 1000)).to.equal(false);
    });

    it("takes nothing for no record, not even the placeholder digest's secret", () => {
      expect(fits(presented, null, now)).to.equal(false);
      expect(fits(secretDigest('no such key'), null, now)).to.equal(false);
    });
  });

  it('refuses a malformed token with no lookup', async () => {
    const t = setup();
    expect(await t.judge.judge(null, 'c')).to.deep.equal({ ok: false, reason: 'malformed' });
    expect(t.reads).to.deep.equal([]);
  });

  it('lets a right token in, with its user, roles, scopes and expiry', async () => {
    const t = setup();
    const expires = new Date(Date.now() + 3_600_000);
    const token = t.key({ scopes: ['user.*'], expiresAt: expires.getTime(), expiresAtIso: expires.toISOString() });
    const verdict = await t.judge.judge(token, 'c');
    expect(verdict).to.deep.include({ ok: true });
    if (!verdict.ok) throw new Error('refused');
    expect(verdict.caller).to.deep.include({ user: 'someone', roles: ['Role'], apiKey: token.apiKey, scopes: ['user.*'], expiresAt: expires.toISOString() });
  });

  it('answers a warm right token from the cache, with no lookup', async () => {
    const t = setup();
    const token = t.key();
    await t.judge.judge(token, 'c');
    const reads = t.reads.length;
    for (let i = 0; i < 5; i++) expect((await t.judge.judge(token, 'c')).ok).to.equal(true);
    expect(t.reads.length).to.equal(reads);
    expect(t.cacheResults.filter((r) => r === 'hit')).to.have.length(5);
  });

  it('the cache only says yes: every refusal is one fresh lookup, whether or not the api_key exists', async () => {
    const t = setup();
    const token = t.key();
    await t.judge.judge(token, 'c'); // now cached
    const wrong = { apiKey: token.apiKey, apiSecret: newApiSecret() };
    const unknown = { apiKey: newApiKey(), apiSecret: newApiSecret() };
    for (const [tok, reason] of [
      [wrong, 'wrong_secret'],
      [unknown, 'unknown_key'],
      [wrong, 'wrong_secret'],
    ] as const) {
      const before = t.reads.length;
      expect(await t.judge.judge(tok, 'c')).to.deep.equal({ ok: false, reason });
      expect(t.reads.length).to.equal(before + 1);
    }
  });

  it('judges a secret rotated elsewhere on a fresh read, so it works at once', async () => {
    const t = setup();
    const token = t.key();
    await t.judge.judge(token, 'c'); // the old secret cached
    const fresh = newApiSecret();
    t.rows.set(token.apiKey, record(token.apiKey, fresh));
    expect((await t.judge.judge({ apiKey: token.apiKey, apiSecret: fresh }, 'c')).ok).to.equal(true);
  });

  it('tells expiry only to the holder of the right secret', async () => {
    const t = setup();
    const token = t.key({ expiresAt: Date.now() - 1, expiresAtIso: new Date(Date.now() - 1).toISOString() });
    expect(await t.judge.judge({ apiKey: token.apiKey, apiSecret: newApiSecret() }, 'c')).to.deep.equal({ ok: false, reason: 'wrong_secret' });
    expect(await t.judge.judge(token, 'c')).to.deep.equal({ ok: false, reason: 'expired' });
  });

  it('refuses a disabled user', async () => {
    const t = setup();
    const token = t.key({ enabled: false });
    expect(await t.judge.judge(token, 'c')).to.deep.equal({ ok: false, reason: 'disabled' });
    expect(t.failures).to.deep.equal(['disabled']);
  });

  it('charges each new lookup to the client: past twice the failure limit, 429 with no lookup', async () => {
    const t = setup();
    for (let i = 0; i < 2 * LIMIT; i++) {
      expect(await t.judge.judge({ apiKey: newApiKey(), apiSecret: newApiSecret() }, 'c')).to.deep.include({ ok: false });
    }
    const reads = t.reads.length;
    const verdict = await t.judge.judge({ apiKey: newApiKey(), apiSecret: newApiSecret() }, 'c');
    expect(verdict).to.deep.include({ ok: false, reason: 'rate_limited' });
    expect(t.reads.length).to.equal(reads);
    expect((await t.judge.judge({ apiKey: newApiKey(), apiSecret: newApiSecret() }, 'other')).ok).to.equal(false);
    expect(t.reads.length).to.equal(reads + 1); // another client still has its allowance
  });

  it('gives the lookup back when the token let the client in, so good tokens never spend the allowance', async () => {
    const t = setup(0); // no cache: every check looks up
    const token = t.key();
    for (let i = 0; i < 4 * LIMIT; i++) expect((await t.judge.judge(token, 'c')).ok).to.equal(true);
    expect(t.limits.reserveLookup('c')).to.equal(0);
  });

  it('a client over its allowance still gets in with a cached right token', async () => {
    const t = setup();
    const token = t.key();
    await t.judge.judge(token, 'c');
    for (let i = 0; i < 2 * LIMIT; i++) t.limits.reserveLookup('c');
    expect((await t.judge.judge(token, 'c')).ok).to.equal(true);
  });

  it('joining a lookup under way costs the client nothing', async () => {
    const t = setup();
    const token = t.key();
    const wrong = { apiKey: token.apiKey, apiSecret: newApiSecret() };
    const burst = await Promise.all(Array.from({ length: 4 * LIMIT }, () => t.judge.judge(wrong, 'c')));
    expect(burst.every((v) => !v.ok && v.reason === 'wrong_secret')).to.equal(true);
    expect(t.reads).to.have.length(1);
    expect(t.limits.reserveLookup('c')).to.equal(0); // one spent of 2 x LIMIT
  });

  it("writes a key's last use at most once a minute", async () => {
    const t = setup();
    const token = t.key();
    for (let i = 0; i < 5; i++) await t.judge.judge(token, 'c');
    expect(t.writes).to.deep.equal([token.apiKey]);
  });
});
