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
 * other instances hear of it through key_events (event-feed.ts) within
 * milliseconds (a change stream) or a poll (250 ms), and while they cannot,
 * trust an entry only briefly (KEY_EVENTS_STALE_MS).
 *
 * The Authenticator composes its parts, each in its own module:
 *   token-cache.ts   the cache of key records, shared lookups, forgetting a change
 *   key-record.ts    what is known of a key, and the one lookup that reads it
 *   verdict.ts       judging a token: cache or lookup, constant-time comparison, the answer
 *   guess-limits.ts  refusals per client and per api_key (counted for the whole deployment), lookups per client
 *   last-use.ts      last_used_at, written at most once a minute per key
 *   event-feed.ts    following changes made by other instances (event-readers.ts reads them)
 *   caller.ts        the types: Caller, Verdict, Client
 *
 * Beside it, what a token may spend once it is let in: key-limiter.ts (its
 * rate limits and credits, exact across instances), used by the pipeline's
 * key-limits step.
 */
import type { ObjectId } from 'mongodb';
import type { Storage } from '../store/storage.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import type { TokenParts } from './token.js';
import { parseAuthorization } from './credentials.js';
import type { LimitOptions } from './limiter.js';
import type { Client, Verdict } from './caller.js';
import { TokenCache } from './token-cache.js';
import { readKeyRecord } from './key-record.js';
import { GuessLimits } from './guess-limits.js';
import { LastUse } from './last-use.js';
import { TokenJudge, rateLimited, refused } from './verdict.js';
import { EventFeed, type FeedOptions, type FeedState } from './event-feed.js';
import { KeyLimiter } from './key-limiter.js';

export { operator, type Caller, type Client, type Refusal, type Verdict } from './caller.js';

export interface AuthOptions {
  /** 0 turns caching off: every check reads the database. */
  cacheTtlMs: number;
  cacheSize: number;
  failures: LimitOptions;
}

export interface FollowOptions extends FeedOptions {
  /** KEY_EVENTS_STALE_MS: while the feed is down, entries older than this are read again. */
  staleMs: number;
  /** How long followEvents waits for the feed to come up before it returns anyway. */
  waitMs: number;
}

export class Authenticator {
  private readonly cache: TokenCache;
  private readonly limits: GuessLimits;
  private readonly judge: TokenJudge;
  private feed: EventFeed | undefined;
  /** Per-key rate limits and credits. */
  readonly keyLimits: KeyLimiter;

  constructor(
    private readonly storage: Storage,
    private readonly metrics: Metrics,
    opts: AuthOptions,
  ) {
    const lastUse = new LastUse(Math.max(opts.cacheSize, 10_000), (apiKey, at) => storage.keys.touch(apiKey, at));
    this.cache = new TokenCache({ ttlMs: opts.cacheTtlMs, size: opts.cacheSize }, (apiKey) => {
      metrics.authDbLookups.inc();
      return readKeyRecord(storage, apiKey, (key) => lastUse.of(key));
    });
    this.limits = new GuessLimits(opts.failures, storage.failureCounts);
    this.judge = new TokenJudge(this.cache, this.limits, lastUse, metrics);
    this.keyLimits = new KeyLimiter(storage.keys.leases);
    storage.onChange((userId, apiKey) => this.forget(userId, apiKey));
  }

  /** The Authorization header -> a verdict (see judgeToken). */
  authenticate(header: string | undefined, client: Client): Promise<Verdict> {
    if (!header) return this.counted(refused(this.metrics, 'missing'), null, client);
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
   * Refusals are counted in the database, for the whole deployment; a token
   * that lets its client in costs no count (guess-limits.ts).
   */
  async judgeToken(token: TokenParts | null, client: Client): Promise<Verdict> {
    const clientWait = this.limits.clientWait(client.address);
    const verdict = await this.judge.judge(token, client.address);
    if (verdict.ok || verdict.reason === 'rate_limited') return verdict;
    if (clientWait > 0) return rateLimited(this.metrics, clientWait);
    return this.counted(verdict, token, client);
  }

  /** A refusal, counted against the client and the api_key it named (a 429 past either's limit). */
  private async counted(verdict: Verdict, token: TokenParts | null, client: Client): Promise<Verdict> {
    const wait = await this.limits.countRefusal(client.address, token?.apiKey ?? null, client.weight);
    if (wait > 0) return rateLimited(this.metrics, wait);
    return verdict;
  }

  /** Seconds a client over its failure limit waits before it may fail again, or 0 (memory only: no database work). */
  guessWait(client: string): number {
    return this.limits.clientWait(client);
  }

  /**
   * A failed guess made without a token check (an unsigned secret-scanning
   * report, a leak report of a secret that was not live), counted like a
   * refused token against the client and the api_key it named: the seconds
   * to wait when the client was already over its limit (a 429), else 0.
   */
  async countGuess(client: string, apiKey: string | null): Promise<number> {
    const wait = await this.limits.countRefusal(client, apiKey, 1);
    if (wait > 0) this.metrics.authFailure('rate_limited');
    return wait;
  }

  /**
   * A user or its key changed: drop what is cached of it, and read a changed
   * key again at once (see TokenCache.forget). Also called for changes made
   * by sibling workers.
   */
  forget(userId: ObjectId, apiKey?: string): void {
    this.cache.forget(userId, apiKey);
  }

  /**
   * Follows the changes other instances make (key_events), dropping what
   * they change from the cache; resolves once following (or after
   * `waitMs`: it goes on trying, and meanwhile trusts entries only for
   * `staleMs`). The service does this; the CLI, which caches nothing for
   * long, does not.
   */
  async followEvents(opts: FollowOptions, log: Logger): Promise<void> {
    const cache = this.cache;
    this.feed = new EventFeed(
      this.storage.keyEvents,
      {
        dropKey: (apiKey) => cache.dropKey(apiKey),
        dropUser: (userId) => cache.dropUser(userId),
        clear: () => cache.clear(),
        trusted: (up) => (up ? cache.trustAll() : cache.distrustOlderThan(opts.staleMs)),
        clientBlocked: (client, until) => this.onClientBlocked(client, until),
      },
      this.metrics,
      log,
      opts,
    );
    await this.feed.start(opts.waitMs);
  }

  /** How changes made elsewhere reach this instance now; 'off' when it does not follow them. */
  get keyEvents(): FeedState | 'off' {
    return this.feed?.state ?? 'off';
  }

  /** Stops following (before the database is closed). */
  async close(): Promise<void> {
    await this.feed?.stop();
    await this.keyLimits.close(); // unspent shares go back for the other instances
  }

  /**
   * Another instance blocked a client (an event of kind 'client_blocked'):
   * its wrong guesses get 429 here too, before this instance counts one.
   */
  onClientBlocked(client: string, until: Date): void {
    this.limits.blockedElsewhere(client, until);
  }
}
