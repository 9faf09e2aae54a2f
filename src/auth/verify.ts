/**
 * The token check. Says who is calling, or that the check failed; the reason
 * goes to metrics, never to the caller, so nobody can probe which api_keys
 * exist.
 *
 * A warm api_key is checked with no database round trip: the key's record
 * (its secret's SHA-256, its user, roles, enabled flag) is cached by api_key,
 * so the cache never holds a secret, and a wrong secret for a known key costs
 * no lookup either. Unknown api_keys are cached too, in a separate bounded
 * cache, so a flood of them can neither hammer the database nor evict good
 * entries. Any write to a user or key on this instance drops that user's
 * entries at once; other instances see it within the TTL.
 */
import { ObjectId } from 'mongodb';
import { LRUCache } from 'lru-cache';
import type { Storage } from '../store/storage.js';
import type { Metrics, AuthFailure } from '../metrics.js';
import { secretDigest, sameDigest, type TokenParts } from './token.js';
import { parseAuthorization } from './credentials.js';
import { FailureCounter, type LimitOptions } from './limiter.js';

export interface Caller {
  user: string;
  /** null for the local operator (CLI), who holds no token. */
  userId: ObjectId | null;
  roles: string[];
  apiKey: string | null;
  /** When the token stops working (ISO), or null. */
  expiresAt: string | null;
  /** Method-name patterns the token may call (see auth/scopes.ts); empty: no limit beyond the roles. */
  scopes: readonly string[];
}

/** The local operator (CLI, tests' direct calls): acts as the given user, holding no token. */
export function operator(user: { _id: ObjectId; name: string; roles: string[] }): Caller {
  return { user: user.name, userId: user._id, roles: user.roles, apiKey: null, expiresAt: null, scopes: [] };
}

export type Verdict =
  | { ok: true; caller: Caller }
  | { ok: false; reason: Exclude<AuthFailure, 'rate_limited'> }
  | { ok: false; reason: 'rate_limited'; retryAfter: number };

/** Who is knocking, for the failure limits. */
export interface Client {
  address: string;
  /** How many calls the request carries: each counts against the limits. */
  weight: number;
}

interface KeyRecord {
  apiKey: string;
  /** SHA-256 of the secret, as bytes (decoded once, not on every check). */
  digest: Buffer;
  /** The secret before the last rotation, accepted until previousUntil (ms). */
  previousDigest: Buffer;
  previousUntil: number;
  /** ms since the epoch; Infinity: never. */
  expiresAt: number;
  /** The same as callers see it, made once per load rather than per call. */
  expiresAtIso: string | null;
  userId: ObjectId;
  user: string;
  roles: string[];
  enabled: boolean;
  scopes: readonly string[];
  /** Last use this process wrote (ms), so it is written at most once a minute. */
  lastUsedAt: number;
  /** When this record was read from the database (ms). */
  loadedAt: number;
}

export interface AuthOptions {
  /** 0 turns caching off: every check reads the database. */
  cacheTtlMs: number;
  cacheSize: number;
  failures: LimitOptions;
}

// Compared against when the api_key is unknown, so both failures do the same work.
const NO_DIGEST = secretDigest('no such key');
const LAST_USED_EVERY_MS = 60_000;
const RECHECK_AFTER_MS = 1000;
const NO_USER = new ObjectId('000000000000000000000000');

export class Authenticator {
  private readonly known: LRUCache<string, KeyRecord> | undefined;
  /** api_keys found not to exist, with when that was read (ms). */
  private readonly unknown: LRUCache<string, number> | undefined;
  /** When this process last wrote each key's last use (ms): outlives cache entries. */
  private readonly usedAt: LRUCache<string, number>;
  /** Concurrent misses for one api_key share one lookup. */
  private readonly inflight = new Map<string, Promise<KeyRecord | null>>();
  /** Bumped on every change, so a lookup that raced a change is not cached. */
  private epoch = 0;
  private readonly failuresByClient: FailureCounter;
  private readonly failuresByKey: FailureCounter;
  /** Database lookups per client that did not let it in: at most twice the failure limit per window. */
  private readonly lookupsByClient: FailureCounter;

  constructor(
    private readonly storage: Storage,
    private readonly metrics: Metrics,
    opts: AuthOptions,
  ) {
    if (opts.cacheTtlMs > 0) {
      this.known = new LRUCache({ max: opts.cacheSize, ttl: opts.cacheTtlMs });
      this.unknown = new LRUCache({ max: opts.cacheSize, ttl: opts.cacheTtlMs });
    }
    this.usedAt = new LRUCache({ max: Math.max(opts.cacheSize, 10_000), ttl: LAST_USED_EVERY_MS });
    this.failuresByClient = new FailureCounter(opts.failures);
    this.failuresByKey = new FailureCounter(opts.failures);
    this.lookupsByClient = new FailureCounter({ ...opts.failures, limit: 2 * opts.failures.limit });
    storage.onChange((userId, apiKey) => this.forget(userId, apiKey));
  }

  /** The Authorization header -> a verdict (see judgeToken). */
  authenticate(header: string | undefined, client: Client): Promise<Verdict> {
    if (!header) return Promise.resolve(this.counted(this.fail('missing'), null, client));
    return this.judgeToken(parseAuthorization(header), client);
  }

  /**
   * A presented token -> a verdict, with failed attempts limited per client
   * (an address, or the caller of auth.verify) and per api_key. Every path
   * that checks a token comes through here, so every wrong guess counts.
   *
   * A correct token is never refused for its api_key's failures (someone
   * guessing at it must not lock its owner out): the key's limit only turns
   * further wrong guesses from 401 into 429. A client over its limit still
   * has its tokens checked, so a good token behind a shared address gets in
   * while its record is cached, and otherwise while the client's lookup
   * allowance lasts: database lookups that did not let a client in are
   * capped at twice the failure limit per window, reserved before each
   * lookup, so not even a burst of concurrent requests can exceed it.
   */
  async judgeToken(token: TokenParts | null, client: Client): Promise<Verdict> {
    const clientWait = this.failuresByClient.retryAfter(client.address);
    const verdict = await this.check(token, client.address);
    if (verdict.ok || verdict.reason === 'rate_limited') return verdict;
    if (clientWait > 0) return this.limited(clientWait);
    return this.counted(verdict, token, client);
  }

  /** A refusal, counted against the client and the api_key it named. */
  private counted(verdict: Verdict, token: TokenParts | null, client: Client): Verdict {
    this.failuresByClient.add(client.address, client.weight);
    if (token) {
      const keyWait = this.failuresByKey.retryAfter(token.apiKey);
      this.failuresByKey.add(token.apiKey, client.weight);
      if (keyWait > 0) return this.limited(keyWait);
    }
    return verdict;
  }

  /**
   * The verdict on a token. A refusal re-reads the api_key when what is
   * cached of it is older than RECHECK_AFTER_MS, whether the key was found
   * or not: a secret rotated (or a key made) on another instance works at
   * once, and a known key with a wrong secret costs exactly what an unknown
   * key costs, so the time taken tells nothing about which api_keys exist.
   * `client`, when given, pays for lookups from its allowance.
   */
  async check(token: TokenParts | null, client?: string): Promise<Verdict> {
    if (!token) return this.fail('malformed'); // bad shape or checksum: no lookup at all
    const presented = secretDigest(token.apiSecret);
    let cached = this.cached(token.apiKey);
    let fits = cached !== undefined && this.fits(presented, cached.record, Date.now());
    if (cached === undefined || (!fits && Date.now() - cached.loadedAt >= RECHECK_AFTER_MS)) {
      if (client !== undefined && !this.reserveLookup(client)) {
        return this.limited(this.lookupsByClient.retryAfter(client));
      }
      const record = await this.lookup(token.apiKey);
      cached = { record, loadedAt: Date.now() };
      fits = this.fits(presented, record, Date.now());
      if (client !== undefined && fits) this.lookupsByClient.add(client, -1); // it let the client in: no charge
    }
    return this.judge(cached.record, fits, Date.now());
  }

  /** One lookup from the client's allowance, or false when it is spent. */
  private reserveLookup(client: string): boolean {
    if (this.lookupsByClient.retryAfter(client) > 0) return false;
    this.lookupsByClient.add(client);
    return true;
  }

  /**
   * The current secret, or the previous one while its grace period lasts.
   * Both digests are always compared, so a key with a grace secret and one
   * without (or none at all) take the same time.
   */
  private fits(presented: Buffer, record: KeyRecord | null, now: number): boolean {
    const current = sameDigest(presented, record?.digest ?? NO_DIGEST);
    const previous = sameDigest(presented, record?.previousDigest ?? NO_DIGEST);
    return record !== null && (current || (previous && now < record.previousUntil));
  }

  /** Expiry is told only to a caller who gave a right secret; to anyone else it is a wrong secret. */
  private judge(record: KeyRecord | null, fits: boolean, now: number): Verdict {
    if (!record) return this.fail('unknown_key');
    if (!fits) return this.fail('wrong_secret');
    if (now >= record.expiresAt) return this.fail('expired');
    if (!record.enabled) return this.fail('disabled');
    if (now - record.lastUsedAt >= LAST_USED_EVERY_MS) this.noteUse(record, now);
    return {
      ok: true,
      caller: {
        user: record.user,
        userId: record.userId,
        roles: record.roles,
        apiKey: record.apiKey,
        expiresAt: record.expiresAtIso,
        scopes: record.scopes,
      },
    };
  }

  /**
   * last_used_at, written at most once a minute per key (per process), off
   * the request's path: the call does not wait for it, and a failure only
   * leaves the time a little stale.
   */
  private noteUse(record: KeyRecord, now: number): void {
    record.lastUsedAt = now; // the cached record, so the next calls skip this
    this.usedAt.set(record.apiKey, now); // and records loaded later
    this.storage.keys.touch(record.apiKey, new Date(now)).catch(() => {
      record.lastUsedAt = 0; // try again on the next use
      this.usedAt.delete(record.apiKey);
    });
  }

  private fail(reason: Exclude<AuthFailure, 'rate_limited'>): Verdict {
    this.metrics.authFailure(reason);
    return { ok: false, reason };
  }

  private limited(retryAfter: number): Verdict {
    this.metrics.authFailure('rate_limited');
    return { ok: false, reason: 'rate_limited', retryAfter };
  }

  /** What this process holds of an api_key: its record, or null when it was found not to exist. */
  private cached(apiKey: string): { record: KeyRecord | null; loadedAt: number } | undefined {
    const hit = this.known?.get(apiKey);
    if (hit) {
      this.metrics.cache('hit');
      return { record: hit, loadedAt: hit.loadedAt };
    }
    const missing = this.unknown?.get(apiKey);
    if (missing !== undefined) {
      this.metrics.cache('negative_hit');
      return { record: null, loadedAt: missing };
    }
    if (this.known) this.metrics.cache('miss');
    return undefined;
  }

  private lookup(apiKey: string): Promise<KeyRecord | null> {
    let pending = this.inflight.get(apiKey);
    if (!pending) {
      pending = this.load(apiKey).finally(() => this.inflight.delete(apiKey));
      this.inflight.set(apiKey, pending);
    }
    return pending;
  }

  private async load(apiKey: string): Promise<KeyRecord | null> {
    const epoch = this.epoch;
    this.metrics.authDbLookups.inc();
    const key = await this.storage.keys.findByApiKey(apiKey);
    // The user is read even for an unknown key (a _id that matches nothing), so
    // both take two round trips and the time taken tells nothing.
    const user = await this.storage.users.findById(key?.user_id ?? NO_USER);
    // A key whose user is gone (a deletion cut short between its two writes)
    // authenticates nobody; tidy it away, best effort.
    if (key && !user) void this.storage.keys.removeOrphan(apiKey).catch(() => {});
    const now = Date.now();
    const record: KeyRecord | null =
      key && user
        ? {
            apiKey,
            digest: Buffer.from(key.secret_hash, 'hex'),
            previousDigest: key.previous_secret_hash ? Buffer.from(key.previous_secret_hash, 'hex') : NO_DIGEST,
            previousUntil: key.previous_valid_until?.getTime() ?? 0,
            expiresAt: key.expires_at?.getTime() ?? Infinity,
            expiresAtIso: key.expires_at?.toISOString() ?? null,
            userId: user._id,
            user: user.name,
            roles: user.roles,
            enabled: user.enabled,
            scopes: key.scopes ?? [],
            lastUsedAt: this.usedAt.get(apiKey) ?? 0,
            loadedAt: now,
          }
        : null;
    if (epoch === this.epoch) {
      this.unknown?.delete(apiKey);
      this.known?.delete(apiKey);
      if (record) this.known?.set(apiKey, record);
      else this.unknown?.set(apiKey, now);
    }
    return record;
  }

  /**
   * A user or its key changed: drop what is cached of it (also called for
   * changes made by sibling workers). A changed key is read again at once,
   * off any request's path and charged to no client, so its new secret
   * works on this instance at the next call, even from a client whose
   * lookup allowance is spent.
   */
  forget(userId: ObjectId, apiKey?: string): void {
    this.epoch++;
    this.inflight.clear(); // later checks must not join a lookup that began before the change
    if (apiKey) this.unknown?.delete(apiKey);
    if (this.known) {
      for (const [key, record] of this.known.entries()) {
        if (record.userId.equals(userId)) this.known.delete(key);
      }
    }
    if (apiKey && this.known) void this.lookup(apiKey).catch(() => {});
  }
}
