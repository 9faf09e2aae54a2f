/**
 * Judging one presented token: its shape, the cache or one lookup, the
 * constant-time comparison, and the answer.
 *
 * The cache answers only a secret that fits; a token it would refuse (an
 * unknown api_key, a wrong secret, a key not cached) is judged on a fresh
 * read of the database. So every refusal costs the same one lookup whether
 * its api_key exists or not, and the time taken tells nothing; and a secret
 * rotated, or a key made, on another instance works at once. The client
 * pays for a new lookup from its allowance (guess-limits.ts), and gets it
 * back when the token let it in.
 */
import type { Metrics } from '../metrics.js';
import type { Refusal, Verdict } from './caller.js';
import type { GuessLimits } from './guess-limits.js';
import { NO_DIGEST, type KeyRecord } from './key-record.js';
import type { LastUse } from './last-use.js';
import type { TokenCache } from './token-cache.js';
import { sameDigest, secretDigest, type TokenParts } from './token.js';

/**
 * The current secret, or the previous one while its grace period lasts.
 * Both digests are always compared, so a key with a grace secret and one
 * without (or none at all) take the same time.
 */
export function fits(presented: Buffer, record: KeyRecord | null, now: number): boolean {
  const current = sameDigest(presented, record?.digest ?? NO_DIGEST);
  const previous = sameDigest(presented, record?.previousDigest ?? NO_DIGEST);
  return record !== null && (current || (previous && now < record.previousUntil));
}

/** A refusal, counted in the metrics by its reason (never told to the caller). */
export function refused(metrics: Metrics, reason: Refusal): Verdict {
  metrics.authFailure(reason);
  return { ok: false, reason };
}

export function rateLimited(metrics: Metrics, retryAfter: number): Verdict {
  metrics.authFailure('rate_limited');
  return { ok: false, reason: 'rate_limited', retryAfter };
}

export class TokenJudge {
  constructor(
    private readonly cache: TokenCache,
    private readonly limits: GuessLimits,
    private readonly lastUse: LastUse,
    private readonly metrics: Metrics,
  ) {}

  /** The verdict on a token, `client` paying for a new lookup (see above). */
  async judge(token: TokenParts | null, client: string): Promise<Verdict> {
    if (!token) return refused(this.metrics, 'malformed'); // bad shape or checksum: no lookup at all
    const presented = secretDigest(token.apiSecret);
    const cached = this.cache.get(token.apiKey);
    if (cached && fits(presented, cached, Date.now())) {
      this.metrics.cache('hit');
      return this.answer(cached, presented, true, Date.now());
    }
    if (this.cache.enabled) this.metrics.cache('miss');
    // Joining a lookup already under way costs nothing: only a new one is charged.
    let pending = this.cache.pending(token.apiKey);
    const charged = !pending;
    if (!pending) {
      const wait = this.limits.reserveLookup(client);
      if (wait > 0) return rateLimited(this.metrics, wait);
      pending = this.cache.lookup(token.apiKey);
    }
    const record = await pending;
    const right = fits(presented, record, Date.now());
    if (charged && right) this.limits.refundLookup(client);
    return this.answer(record, presented, right, Date.now());
  }

  /**
   * Expiry is told only to a caller who gave a right secret; to anyone else it is a wrong secret.
   * A caller who gave the previous secret, in its grace period, is a token that expires when the
   * grace ends (found by an outside attacker: it could issue keys that never expire, and so outlive
   * a rotation made after a leak); containment then bounds what it may issue or change.
   */
  private answer(record: KeyRecord | null, presented: Buffer, right: boolean, now: number): Verdict {
    if (!record) return refused(this.metrics, 'unknown_key');
    if (!right) return refused(this.metrics, 'wrong_secret');
    if (now >= record.expiresAt) return refused(this.metrics, 'expired');
    if (!record.enabled) return refused(this.metrics, 'disabled');
    this.lastUse.note(record, now);
    return {
      ok: true,
      caller: {
        user: record.user,
        userId: record.userId,
        roles: record.roles,
        apiKey: record.apiKey,
        expiresAt: sameDigest(presented, record.digest) ? record.expiresAtIso : graceEnd(record),
        scopes: record.scopes,
        limits: record.limits,
        ipAllowlist: record.ipAllowlist,
      },
    };
  }
}

/** When a previous secret stops: the end of its grace, or the key's own expiry if that comes first. */
function graceEnd(record: KeyRecord): string {
  return new Date(Math.min(record.previousUntil, record.expiresAt)).toISOString();
}
