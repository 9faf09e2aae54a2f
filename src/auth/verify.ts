/**
 * The token check. Says who is calling, or that the check failed; the reason
 * goes to metrics, never to the caller, so nobody can probe which api_keys
 * exist.
 *
 * A warm api_key is checked with no database round trip: the key's record
 * (its secret's SHA-256, its user, roles, enabled flag) is cached by api_key,
 * so the cache never holds a secret. The cache only ever says yes: a token it
 * would refuse is judged on a fresh read, so every refusal costs one lookup
 * whether or not its api_key exists (no timing tells which), and the failure
 * limits bound those lookups per client. Any write to a user or key on this
 * instance drops that user's entries at once and reads a changed key again;
 * other instances see it within the TTL, or at once for a new secret.
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
const NO_USER = new ObjectId('000000000000000000000000');

export class Authenticator {
  private readonly known: LRUCache<string, KeyRecord> | undefined;
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
   * The verdict on a token. The cache answers only a secret that fits; a
   * token it would refuse (an unknown api_key, a wrong secret, a key not
   * cached) is judged on a fresh read of the database. So every refusal
   * costs the same one lookup whether its api_key exists or not, and the
   * time taken tells nothing; and a secret rotated, or a key made, on
   * another instance works at once. `client` pays for the lookup from its
   * allowance, and gets it back when the token let it in.
   */
  private async check(token: TokenParts | null, client: string): Promise<Verdict> {
    if (!token) return this.fail('malformed'); // bad shape or checksum: no lookup at all
    const presented = secretDigest(token.apiSecret);
    const cached = this.known?.get(token.apiKey);
    if (cached && this.fits(presented, cached, Date.now())) {
      this.metrics.cache('hit');
      return this.judge(cached, true, Date.now());
    }
    if (this.known) this.metrics.cache('miss');
    // Joining a lookup already under way costs nothing: only a new one is charged.
    let pending = this.inflight.get(token.apiKey);
    const charged = !pending;
    if (!pending) {
      if (!this.reserveLookup(client)) return this.limited(this.lookupsByClient.retryAfter(client));
      pending = this.lookup(token.apiKey);
    }
    const record = await pending;
    const fits = this.fits(presented, record, Date.now());
    if (charged && fits) this.lookupsByClient.add(client, -1);
    return this.judge(record, fits, Date.now());
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
          }
        : null;
    if (epoch === this.epoch) {
      if (record) this.known?.set(apiKey, record);
      else this.known?.delete(apiKey);
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
    if (this.known) {
      for (const [key, record] of this.known.entries()) {
        if (record.userId.equals(userId)) this.known.delete(key);
      }
    }
    if (apiKey && this.known) void this.lookup(apiKey).catch(() => {});
  }
}
