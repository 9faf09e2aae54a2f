/**
 * The token check's cache of key records, by api_key, and its lookups.
 *
 * A positive cache: it is asked only whether a presented secret fits a
 * record it holds, and a token it would refuse is judged on a fresh lookup
 * (see verdict.ts), so it only ever says yes. It never holds a secret (a
 * record holds its SHA-256).
 *
 * Concurrent misses for one api_key share one lookup. Any change to a user
 * or key made here drops that user's records at once, and reads a changed
 * key again off any request's path; a lookup that raced a change is not
 * cached. Changes made by other instances arrive as events (event-feed.ts)
 * and drop entries the same way (dropKey, dropUser, clear).
 *
 * While those events cannot be read (the feed is down) nothing tells the
 * cache of changes made elsewhere, so it trusts an entry only for a short
 * bound after it was read (distrustOlderThan); older ones are misses, read
 * again. A hit pays for that only while the feed is down.
 */
import type { ObjectId } from 'mongodb';
import { LRUCache } from 'lru-cache';
import type { KeyRecord } from './key-record.js';

export interface TokenCacheOptions {
  /** 0 turns caching off: every check reads the database. */
  ttlMs: number;
  size: number;
}

export class TokenCache {
  private readonly known: LRUCache<string, KeyRecord> | undefined;
  /** Concurrent misses for one api_key share one lookup. */
  private readonly inflight = new Map<string, Promise<KeyRecord | null>>();
  /** Bumped on every change, so a lookup that raced a change is not cached. */
  private epoch = 0;
  /** -1 while changes made elsewhere are heard of; else the age (ms) past which an entry is not trusted. */
  private trustMs = -1;

  constructor(
    private readonly opts: TokenCacheOptions,
    /** One database lookup of a key (null: no such key, or no such user). */
    private readonly read: (apiKey: string) => Promise<KeyRecord | null>,
  ) {
    if (opts.ttlMs > 0) this.known = new LRUCache({ max: opts.size, ttl: opts.ttlMs });
  }

  /** False when caching is off (every check reads the database). */
  get enabled(): boolean {
    return this.known !== undefined;
  }

  /** The cached record of a key, if any: only to be trusted for a secret that fits it. */
  get(apiKey: string): KeyRecord | undefined {
    const record = this.known?.get(apiKey);
    if (record === undefined || this.trustMs < 0) return record;
    // The feed is down: only an entry read within the bound is trusted (its age from the LRU's own clock).
    return this.opts.ttlMs - this.known!.getRemainingTTL(apiKey) <= this.trustMs ? record : undefined;
  }

  /**
   * The change feed is down: trust an entry only `ms` after it was read
   * (0: never; every check reads the database). Undone by trustAll.
   */
  distrustOlderThan(ms: number): void {
    this.trustMs = ms;
  }

  /** The change feed is up (and has caught up): entries live their TTL again, unless an event drops them. */
  trustAll(): void {
    this.trustMs = -1;
  }

  /** The lookup of this key already under way, if any (joining it costs nothing). */
  pending(apiKey: string): Promise<KeyRecord | null> | undefined {
    return this.inflight.get(apiKey);
  }

  /** Joins the lookup of this key under way, or starts one; its record is cached. */
  lookup(apiKey: string): Promise<KeyRecord | null> {
    let pending = this.inflight.get(apiKey);
    if (!pending) {
      pending = this.load(apiKey).finally(() => this.inflight.delete(apiKey));
      this.inflight.set(apiKey, pending);
    }
    return pending;
  }

  private async load(apiKey: string): Promise<KeyRecord | null> {
    const epoch = this.epoch;
    const record = await this.read(apiKey);
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

  /*
   * Changes made by other instances, as their events arrive. Unlike forget,
   * nothing is read again here: every instance would read every changed key,
   * most of them never presented there. And a lookup under way is not
   * abandoned: it is only kept out of the cache, so checks that join it (in
   * the one round trip it takes) may still see the state before the change,
   * as a check that came a moment earlier would have. Changes made here
   * (forget) are stricter, since their caller is told when they are done.
   */

  /** A key changed elsewhere (rotated, revoked, updated). */
  dropKey(apiKey: string): void {
    this.epoch++;
    this.known?.delete(apiKey);
  }

  /** A user changed elsewhere (disabled, deleted, roles changed): all its keys. */
  dropUser(userId: ObjectId): void {
    this.epoch++;
    if (!this.known) return;
    for (const [key, record] of this.known.entries()) {
      if (record.userId.equals(userId)) this.known.delete(key);
    }
  }

  /** Changes elsewhere may have been missed (the feed could not catch up): forget everything. */
  clear(): void {
    this.epoch++;
    this.known?.clear();
  }
}
