/**
 * Containment for rate limits and credits (see containment.ts for the
 * rule's other parts, and SECURITY.md): a call made with a token that has
 * rate limits or credits never creates or changes a key that can do more.
 *
 * - Rate limits: for each of the token's limits, the key must carry one at
 *   least as tight: no more calls (limit) in a window no shorter
 *   (duration_ms). So the key can never call faster than the token could.
 *   The token's own key keeps each of its rate limits exactly (it may add
 *   more): a limit
 *   renamed, or given another window, is counted afresh, so changing its
 *   own limits would let a token start its count again (found by an outside
 *   attacker). Rate limits bound each key: a token that may issue keys for
 *   other users gives each its own.
 * - Credits: a token with credits may only leave a key with credits, and
 *   without refill (a refill would hand out credits nobody paid for). Credits
 *   it sets on a key come out of its own balance, spent exactly like calls
 *   (before anything is written), or the call is refused. A key's own
 *   credits, kept unchanged, are not charged again, unless the call issues a
 *   secret for another user's key: that would hand the token the key's
 *   balance, so it must give the credits (and pay for them). Its own key
 *   keeps its own balance and refill: rotating itself gives it nothing new.
 */
import { AppError } from '../errors.js';
import type { KeyLimits, RateLimitRule, Refill } from '../store/key-limits.js';

/** A key's limits as they will be after the call. */
export interface LimitCredential {
  ratelimits: readonly RateLimitRule[];
  credits: { remaining: number; refill?: Refill | null | undefined } | null;
  /** Which were not asked for but kept from the key (for the message, and: kept credits are not charged). */
  kept: { ratelimits: boolean; credits: boolean };
  /** The key is the calling token's own. */
  self: boolean;
  /** The call issues a new secret for the key (generate_keys), which the caller then holds. */
  issuesSecret: boolean;
}

const sameRule = (a: RateLimitRule, b: RateLimitRule) => a.name === b.name && a.limit === b.limit && a.duration_ms === b.duration_ms;

/** Whether rule `k` is at least as tight as `h`. */
export function rateWithin(h: RateLimitRule, k: RateLimitRule): boolean {
  return k.limit <= h.limit && k.duration_ms >= h.duration_ms;
}

/** Throws permission_denied unless the key's limits stay within the token's. */
export function checkLimits(holder: KeyLimits | null | undefined, key: LimitCredential): void {
  if (!holder) return;
  if (key.self && !holder.ratelimits.every((h) => key.ratelimits.some((k) => sameRule(h, k)))) {
    throw new AppError(
      'permission_denied',
      "a token with rate limits cannot change its own key's rate limits (a limit renamed or given another window is counted afresh); an unrestricted token can",
    );
  }
  for (const h of holder.ratelimits) {
    if (!key.ratelimits.some((k) => rateWithin(h, k))) {
      const kept = key.kept.ratelimits ? ' (kept from the key: give ratelimits to tighten them)' : '';
      throw new AppError(
        'permission_denied',
        `the key's rate limits${kept} must include one at least as tight as this token's ${h.name}: at most ${h.limit} calls in a window of at least ${h.duration_ms} ms`,
      );
    }
  }
  if (!holder.credits || (key.self && key.kept.credits)) return;
  if (key.issuesSecret && !key.self && key.kept.credits) {
    throw new AppError(
      'permission_denied',
      "give credits: a secret issued for this key would hand this token the key's own balance, which it has not paid for",
    );
  }
  const kept = key.kept.credits ? ' (kept from the key: give credits to bound them)' : '';
  if (!key.credits) throw new AppError('permission_denied', `a key without credits${kept} can spend more than this token, which has credits`);
  if (key.credits.refill)
    throw new AppError('permission_denied', `a token with credits cannot give a key a refill${kept}: the refill would grant credits nobody paid for`);
}

/** The credits the call grants, to be spent from the token's balance first (0: none granted). */
export function creditsGranted(holder: KeyLimits | null | undefined, key: LimitCredential): number {
  if (!holder?.credits || key.kept.credits || !key.credits) return 0;
  return key.credits.remaining;
}
