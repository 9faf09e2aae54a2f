/**
 * In-memory counters of one process: a fixed window per key (a client, an
 * api_key), opened by its first count. Bounded in memory by an LRU
 * (lru-cache): past `maxTracked` keys, the least recently counted are
 * forgotten, which can only make the limit looser for them, never lock
 * anyone out. The failure limits also count in the database, for the whole
 * deployment (guess-limits.ts); these are their floor, and all there is of
 * them while the database is away.
 */
import { LRUCache } from 'lru-cache';

export interface LimitOptions {
  /** Failures allowed per window; the next one is refused with 429. */
  limit: number;
  windowMs: number;
  maxTracked: number;
}

interface Window {
  count: number;
  resetAt: number;
}

export class FailureCounter {
  private readonly windows: LRUCache<string, Window>;

  constructor(private readonly opts: LimitOptions) {
    this.windows = new LRUCache({ max: opts.maxTracked, ttl: opts.windowMs });
  }

  /**
   * Adds to the key's window (opening one if none runs); the count after.
   * A negative weight gives back what was added in the current window, if it still runs.
   */
  add(key: string, weight = 1, now = Date.now()): number {
    const w = this.windows.get(key);
    if (w && now < w.resetAt) return (w.count = Math.max(0, w.count + weight));
    if (weight <= 0) return 0;
    this.windows.set(key, { count: weight, resetAt: now + this.opts.windowMs });
    return weight;
  }

  /** Seconds until `key` may fail again, or 0 when it is not over its limit. */
  retryAfter(key: string, now = Date.now()): number {
    const w = this.windows.get(key);
    if (!w || now >= w.resetAt || w.count < this.opts.limit) return 0;
    return Math.max(1, Math.ceil((w.resetAt - now) / 1000));
  }
}
