/**
 * The limits on guessing, per client (an address, or the caller of
 * auth.verify) and per api_key, each a fixed window (limiter.ts):
 *
 * - refusals per client and per presented api_key: past AUTH_FAILURE_LIMIT
 *   a refusal is a 429 rather than a 401;
 * - database lookups per client that did not let it in: at most twice the
 *   failure limit per window, reserved when a lookup starts (so not even a
 *   burst of concurrent requests can exceed it) and given back when the
 *   token let the client in.
 */
import { FailureCounter, type LimitOptions } from './limiter.js';

export class GuessLimits {
  private readonly failuresByClient: FailureCounter;
  private readonly failuresByKey: FailureCounter;
  /** Database lookups per client that did not let it in: at most twice the failure limit per window. */
  private readonly lookupsByClient: FailureCounter;

  constructor(opts: LimitOptions) {
    this.failuresByClient = new FailureCounter(opts);
    this.failuresByKey = new FailureCounter(opts);
    this.lookupsByClient = new FailureCounter({ ...opts, limit: 2 * opts.limit });
  }

  /** Seconds until the client may fail again, or 0 when it is not over its limit. */
  clientWait(client: string): number {
    return this.failuresByClient.retryAfter(client);
  }

  /**
   * A refusal, counted against the client and, when the token named one,
   * against the api_key. Returns the seconds the key must wait as they stood
   * before this refusal (0: it was not yet over its limit).
   */
  countRefusal(client: string, apiKey: string | null, weight: number): number {
    this.failuresByClient.add(client, weight);
    if (apiKey === null) return 0;
    const keyWait = this.failuresByKey.retryAfter(apiKey);
    this.failuresByKey.add(apiKey, weight);
    return keyWait;
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
}
