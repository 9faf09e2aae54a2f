/**
 * The rate limits and credits generate_keys and auth.keys.update take: what
 * the schema cannot say (names unique), and a restricted token's payment for
 * the credits it grants (auth/limit-containment.ts).
 */
import { AppError, invalidParams } from '../errors.js';
import { creditsGranted, type LimitCredential } from '../auth/limit-containment.js';
import type { RateLimitRule } from '../store/key-limits.js';
import type { CallContext } from '../rpc/spec.js';

/** Refuses two rate limits of one name: errors and the RateLimit fields name them. */
export function checkRateLimitNames(ratelimits: readonly RateLimitRule[] | undefined): void {
  const seen = new Set<string>();
  ratelimits?.forEach((r, i) => {
    if (seen.has(r.name)) throw invalidParams([{ path: `/ratelimits/${i}/name`, message: `the name ${r.name} is given twice: each limit needs its own` }]);
    seen.add(r.name);
  });
}

/**
 * Spends from the calling token's credits what the key is granted, before
 * anything is written; refuses (permission_denied) when they are not there.
 */
export async function payForCredits(ctx: CallContext, key: LimitCredential): Promise<void> {
  const { caller, services } = ctx;
  const granted = creditsGranted(caller.limits, key);
  if (granted === 0 || !caller.limits || caller.apiKey === null) return;
  const paid = await services.auth.keyLimits.spend(caller.apiKey, caller.limits, granted);
  if (!paid.ok) {
    throw new AppError('permission_denied', `granting ${granted} credits spends as many of this token's own, and it has not that many left`);
  }
}
