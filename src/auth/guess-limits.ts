/**
 * The limits on guessing, per client (an address, or the caller of
 * auth.verify) and per api_key:
 *
 * - refusals per client and per presented api_key, across the whole
 *   deployment: past AUTH_FAILURE_LIMIT in a window, a refusal is a 429
 *   rather than a 401, on every instance;
 * - database lookups per client that did not let it in: at most twice the
 *   failure limit per window, reserved when a lookup starts (so not even a
 *   burst of concurrent requests can exceed it) and given back when the
 *   token let the client in. This one stays per instance on purpose: it
 *   guards the database against one instance's own traffic, and counting
 *   it in the database would cost a write on the lookup of a good token.
 *
 * Where the refusals are counted, and what that costs:
 *
 * - Refusal (the token was judged and refused): one atomic add per client
 *   and per api_key in the database (src/store/failure-counts.ts), which
 *   answers with the count, this refusal in it. The refusal is a 401 only if
 *   the count before it was under the limit, so however many instances and
 *   concurrent requests, at most AUTH_FAILURE_LIMIT refusals per client (and
 *   per api_key) per window are 401s across the deployment (a batch counts
 *   each of its calls: the request that crosses the limit may carry the
 *   count past it). Refusals of one client that arrive while its count is
 *   being written go together in the next write (failure-counts.ts), so a
 *   flood from one address costs each instance one write at a time. Every refusal costs the same writes whether its api_key
 *   exists or not, so they tell nothing.
 * - Past the limit, the instance remembers the block until the window ends,
 *   and answers the client's refusals with 429 without writing again; the
 *   instance that crossed it writes a `client_blocked` event, so the others
 *   can learn it before their own next count (blockedElsewhere).
 * - A valid call pays nothing: on a cache hit (the presented secret fits
 *   the cached digest) there is no database work at all, and a lookup that
 *   let the client in writes nothing here. That keeps the bound, because
 *   the bound is on wrong guesses: a hit means the secret is right, and
 *   every wrong token is judged on a fresh lookup (the cache only says
 *   yes), so it is counted. As before, a right token gets in even from a
 *   client over its limit (clients behind one address must not lock each
 *   other out; the limit turns wrong guesses into 429s).
 * - Database unreachable: the counts in memory (limiter.ts), kept for every
 *   refusal anyway, decide alone, so each instance still holds the limit
 *   for what it sees (the bound while the database is away is the limit per
 *   instance, as it was before counts were shared, never no limit); the
 *   database is tried again a second later. The larger of the two counts
 *   always wins, so sharing can only make the limit stricter.
 */
import { LRUCache } from 'lru-cache';
import { failureCountId, type FailureCountStore, type Counted, type FailureWindow } from '../store/failure-counts.js';
import { FailureCounter, type LimitOptions } from './limiter.js';

/** After a failed count in the database, the counts in memory decide alone this long. */
const SHARED_RETRY_MS = 1000;

export class GuessLimits {
  /** This process's own counts: the floor of the shared ones, and all of them while the database is away. */
  private readonly failuresByClient: FailureCounter;
  private readonly failuresByKey: FailureCounter;
  /** Database lookups per client that did not let it in: at most twice the failure limit per window. */
  private readonly lookupsByClient: FailureCounter;
  /**
   * Clients and api_keys known to be over their limit across the deployment
   * (by failureCountId), with when their window ends (ms): from this
   * instance's counts in the database, or another instance's event.
   */
  private readonly blocked: LRUCache<string, number>;
  private sharedDownUntil = 0;

  constructor(
    private readonly opts: LimitOptions,
    /** The counts shared by the instances; none: this process counts alone. */
    private readonly shared: FailureCountStore | null = null,
  ) {
    this.failuresByClient = new FailureCounter(opts);
    this.failuresByKey = new FailureCounter(opts);
    this.lookupsByClient = new FailureCounter({ ...opts, limit: 2 * opts.limit });
    this.blocked = new LRUCache({ max: opts.maxTracked, ttl: opts.windowMs });
  }

  /** Seconds until the client may fail again, or 0 when it is not over its limit. Memory only: no database work. */
  clientWait(client: string, now = Date.now()): number {
    return Math.max(this.failuresByClient.retryAfter(client, now), this.blockedWait(failureCountId('client', client), now));
  }

  /**
   * Another instance saw the client go over its limit (a `client_blocked`
   * event): refuse its wrong guesses with 429 until `until`, without
   * counting them again. Never longer than one window from now.
   */
  blockedElsewhere(client: string, until: Date, now = Date.now()): void {
    this.block(failureCountId('client', client), Math.min(until.getTime(), now + this.opts.windowMs), now);
  }

  /**
   * A refusal, counted against the client and, when the token named one,
   * against the api_key, here and in the database. Returns the seconds to
   * wait when the client or the key was already at its limit before this
   * refusal (a 429), or 0 (a 401).
   */
  async countRefusal(client: string, apiKey: string | null, weight: number): Promise<number> {
    const now = Date.now();
    let wait = this.countHere(this.failuresByClient, client, weight, now);
    if (apiKey !== null) wait = Math.max(wait, this.countHere(this.failuresByKey, apiKey, weight, now));
    if (!this.shared || now < this.sharedDownUntil) return wait;
    try {
      const waits = await Promise.all([
        this.countShared(this.shared, 'client', client, weight),
        apiKey === null ? 0 : this.countShared(this.shared, 'key', apiKey, weight),
      ]);
      return Math.max(wait, ...waits);
    } catch {
      this.sharedDownUntil = Date.now() + SHARED_RETRY_MS;
      return wait;
    }
  }

  /** One lookup from the client's allowance: 0 when reserved, or the seconds until it may look up again. */
  reserveLookup(client: string): number {
    const wait = this.lookupsByClient.retryAfter(client);
    if (wait === 0) this.lookupsByClient.add(client);
    return wait;
  }

  /** The lookup reserved for the client let it in: it gets it back. */
  refundLookup(client: string): void {
    this.lookupsByClient.add(client, -1);
  }

  /** Counts in memory; the wait if the count was at the limit before this refusal. */
  private countHere(counter: FailureCounter, key: string, weight: number, now: number): number {
    const before = counter.add(key, weight, now) - weight;
    return before >= this.opts.limit ? counter.retryAfter(key, now) : 0;
  }

  /** Counts in the database (unless known to be over already); the wait if the count was at the limit before this refusal. */
  private async countShared(shared: FailureCountStore, what: Counted, name: string, weight: number): Promise<number> {
    const id = failureCountId(what, name);
    const known = this.blockedWait(id);
    if (known > 0) return known;
    const window: FailureWindow = await shared.add(what, name, weight, this.opts.windowMs);
    const now = Date.now();
    const until = window.expiresAt.getTime();
    if (window.n < this.opts.limit) return 0;
    this.block(id, until, now);
    const before = window.n - weight;
    if (before < this.opts.limit) {
      // This refusal crossed the limit: tell the other instances (off the answer's path; they count anyway if it is lost).
      if (what === 'client') shared.clientBlocked(name, window.expiresAt).catch(() => undefined);
      return 0;
    }
    return this.seconds(until - now);
  }

  private block(id: string, until: number, now: number): void {
    if (until > now) this.blocked.set(id, until, { ttl: until - now });
  }

  private blockedWait(id: string, now = Date.now()): number {
    const until = this.blocked.get(id);
    return until === undefined || until <= now ? 0 : this.seconds(until - now);
  }

  /** A Retry-After: whole seconds, at least 1, at most a window (the database's clock may differ from ours). */
  private seconds(ms: number): number {
    return Math.min(Math.max(1, Math.ceil(ms / 1000)), Math.ceil(this.opts.windowMs / 1000));
  }
}
