/**
 * Failed-authentication counts shared by every instance of a deployment
 * (the limits themselves are in src/auth/guess-limits.ts).
 *
 * One document per client (`c|<client>`) and per presented api_key
 * (`k|<apiKey>`) in `failure_counts`, holding a fixed window: `n` refusals
 * counted since the window opened, and `expires_at`, when it closes. Each
 * refusal is one findOneAndUpdate (upsert) with an update pipeline that adds
 * to a running window or opens a new one, judged by the database's own clock
 * ($$NOW): single-document atomicity makes the count exact across instances,
 * and the reply tells the caller the count with its own refusal in it.
 *
 * The window opens at the first failure (as the in-memory counters always
 * did), rather than on a grid of `<windowStart>` ids: Retry-After tells the
 * truth, the database's clock alone decides (instances' clocks may drift),
 * and one document per client is all there is to clean. Expired windows are
 * counted as closed whether or not they were removed yet; the service
 * removes them every minute, from every instance (idempotent).
 *
 * One write in flight per document per instance. Refusals of one client
 * that arrive while its count is being written wait for that write and go
 * together in the next one, each told the count as if its own add had been
 * the last: a burst of wrong guesses from one address costs each instance
 * one write at a time, not one per guess (it was a hot document: concurrent
 * upserts of one document conflict and retry inside the server, and slowed
 * every other client's writes), and the count stays exact.
 *
 * Comparisons with $$NOW go through $toLong: a date compared with $$NOW
 * directly is always false on the local database (secantusdb), and the
 * same expression is right on MongoDB.
 */
import type { Collection } from 'mongodb';
import { isDuplicateKey } from '../errors.js';
import type { KeyEvents } from './key-events.js';

export interface FailureCountDoc {
  /** `c|<client>` or `k|<apiKey>`. */
  _id: string;
  n: number;
  expires_at: Date;
}

/** What is counted: refusals per client, or per presented api_key. */
export type Counted = 'client' | 'key';

export interface FailureWindow {
  /** Refusals in the window, this one included. */
  n: number;
  /** When the window closes (the database's clock). */
  expiresAt: Date;
}

export const CLEANUP_EVERY_MS = 60_000;

export function failureCountId(what: Counted, name: string): string {
  return `${what === 'client' ? 'c' : 'k'}|${name}`;
}

interface Waiter {
  weight: number;
  resolve: (w: FailureWindow) => void;
  reject: (err: unknown) => void;
}

export class FailureCountStore {
  private cleanup: NodeJS.Timeout | undefined;
  /** Documents with a write in flight, each with the adds waiting for the next one (empty: none yet). */
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(
    private readonly counts: Collection<FailureCountDoc>,
    /** The key_events writer (key-events.ts): a block is recorded as any other event, stamped by the database's clock. */
    private readonly events: Pick<KeyEvents, 'record'>,
  ) {}

  /**
   * Adds `weight` refusals to the window of a client or an api_key, opening
   * a window of `windowMs` if none runs; the window as it stands after.
   */
  add(what: Counted, name: string, weight: number, windowMs: number): Promise<FailureWindow> {
    const id = failureCountId(what, name);
    return new Promise((resolve, reject) => {
      const waiter = { weight, resolve, reject };
      const queue = this.waiting.get(id);
      if (queue) queue.push(waiter);
      else this.write(id, [waiter], windowMs);
    });
  }

  /** Writes `batch` as one add; then the adds that came meanwhile, as the next. */
  private write(id: string, batch: Waiter[], windowMs: number): void {
    this.waiting.set(id, []);
    const total = batch.reduce((sum, w) => sum + w.weight, 0);
    this.upsert(id, total, windowMs)
      .then(
        (window) => {
          // In arrival order: each sees the count up to and including its own add.
          let n = window.n - total;
          for (const w of batch) w.resolve({ n: (n += w.weight), expiresAt: window.expiresAt });
        },
        (err: unknown) => {
          for (const w of batch) w.reject(err);
        },
      )
      .finally(() => {
        const next = this.waiting.get(id) ?? [];
        if (next.length > 0) this.write(id, next, windowMs);
        else this.waiting.delete(id);
      });
  }

  private async upsert(_id: string, weight: number, windowMs: number): Promise<FailureWindow> {
    const running = { $gt: [{ $toLong: '$expires_at' }, { $toLong: '$$NOW' }] };
    const pipeline = [
      {
        $set: {
          n: { $cond: [running, { $add: ['$n', weight] }, weight] },
          expires_at: { $cond: [running, '$expires_at', { $add: ['$$NOW', windowMs] }] },
        },
      },
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        const doc = await this.counts.findOneAndUpdate({ _id }, pipeline, { upsert: true, returnDocument: 'after' });
        // Some servers answer a concurrent upsert with no document (the
        // write was applied): the window as it is now holds this refusal.
        const window = doc ?? (await this.counts.findOne({ _id }));
        if (window) return { n: window.n, expiresAt: window.expires_at };
        throw new Error(`failure count ${_id}: the upserted window is not there`);
      } catch (err) {
        // Two first refusals at once: MongoDB may refuse the second insert; it finds the window on the next try.
        if (attempt < 3 && isDuplicateKey(err)) continue;
        throw err;
      }
    }
  }

  /** Tells the other instances (through key_events) that a client is over its limit until `until`. */
  async clientBlocked(client: string, until: Date): Promise<void> {
    await this.events.record({ kind: 'client_blocked', client, until });
  }

  /** Removes the windows that have closed; safe from many instances at once. */
  async removeExpired(now = new Date()): Promise<number> {
    const { deletedCount } = await this.counts.deleteMany({ expires_at: { $lt: now } });
    return deletedCount;
  }

  /**
   * Removes closed windows every `everyMs`. A failure (the database away)
   * is left for the next round: a closed window that stays is counted as
   * closed anyway.
   */
  startCleanup(everyMs = CLEANUP_EVERY_MS): void {
    this.stopCleanup();
    this.cleanup = setInterval(() => void this.removeExpired().catch(() => undefined), everyMs);
    this.cleanup.unref();
  }

  stopCleanup(): void {
    clearInterval(this.cleanup);
    this.cleanup = undefined;
  }
}
