/**
 * last_used_at, written at most once a minute per key (per process), off
 * the request's path: the call does not wait for it, and a failure only
 * leaves the time a little stale.
 */
import { LRUCache } from 'lru-cache';
import type { KeyRecord } from './key-record.js';

export const LAST_USED_EVERY_MS = 60_000;

export class LastUse {
  /** When this process last wrote each key's last use (ms): outlives cache entries. */
  private readonly usedAt: LRUCache<string, number>;

  constructor(
    maxTracked: number,
    /** Stores a use (KeyStore.touch). */
    private readonly write: (apiKey: string, at: Date) => Promise<void>,
  ) {
    this.usedAt = new LRUCache({ max: maxTracked, ttl: LAST_USED_EVERY_MS });
  }

  /** When this process last wrote the key's use (ms), or 0: for a record being loaded. */
  of(apiKey: string): number {
    return this.usedAt.get(apiKey) ?? 0;
  }

  /** A successful use of the key: written when the last write is a minute old. */
  note(record: KeyRecord, now: number): void {
    if (now - record.lastUsedAt < LAST_USED_EVERY_MS) return;
    record.lastUsedAt = now; // the cached record, so the next calls skip this
    this.usedAt.set(record.apiKey, now); // and records loaded later
    this.write(record.apiKey, new Date(now)).catch(() => {
      record.lastUsedAt = 0; // try again on the next use
      this.usedAt.delete(record.apiKey);
    });
  }
}
