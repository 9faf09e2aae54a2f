/**
 * The rows each caller may read per second, across all its requests and
 * doors: a token bucket per api_key holding at most one second's worth.
 * A batch's budget bounds one request; this bounds a caller that sends them
 * back to back, so that its reads cannot queue every other caller's behind
 * them in the database. Per process, bounded in memory (lru-cache), like the
 * failure limits. The local operator (CLI) holds no token and is not limited.
 */
import { LRUCache } from 'lru-cache';

interface Bucket {
  rows: number;
  at: number;
}

export class RowRate {
  private readonly buckets = new LRUCache<string, Bucket>({ max: 100_000 });

  constructor(readonly perSecond: number) {}

  /** Takes `rows` from the caller's bucket; or, when there are not enough, takes none and says how many seconds to wait. */
  take(caller: string, rows: number, now = Date.now()): number {
    const wanted = Math.min(rows, this.perSecond); // a page larger than a second's worth waits for a full bucket
    const b = this.buckets.get(caller) ?? { rows: this.perSecond, at: now };
    b.rows = Math.min(this.perSecond, b.rows + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(caller, b);
    if (b.rows >= wanted) {
      b.rows -= wanted;
      return 0;
    }
    return Math.max(1, Math.ceil((wanted - b.rows) / this.perSecond));
  }
}
