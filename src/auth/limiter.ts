/**
 * Failed-authentication counters: a fixed window per client address and per
 * api_key. Bounded in memory by an LRU (lru-cache): past `maxTracked` keys,
 * the least recently failing are forgotten, which can only make the limit
 * looser for them, never lock anyone out.
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

  /** A negative weight gives back what was added in the current window, if it still runs. */
  add(key: string, weight = 1, now = Date.now()): void {
    const w = this.windows.get(key);
    if (w && now < w.resetAt) w.count = Math.max(0, w.count + weight);
    else if (weight > 0) this.windows.set(key, { count: weight, resetAt: now + this.opts.windowMs });
  }

  /** Seconds until `key` may fail again, or 0 when it is not over its limit. */
  retryAfter(key: string, now = Date.now()): number {
    const w = this.windows.get(key);
    if (!w || now >= w.resetAt || w.count < this.opts.limit) return 0;
    return Math.max(1, Math.ceil((w.resetAt - now) / 1000));
  }
}
