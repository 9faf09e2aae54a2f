import { method, type CallContext } from '../rpc/spec.js';
import { AppError, invalidParams } from '../errors.js';
import { hashSecret, newApiSecret } from '../auth/token.js';
import { checkCredential, restricted } from '../auth/containment.js';
import { SYSTEM_MANAGER, type UserDoc } from '../store/users.js';
import { keyInfo, type KeyDoc } from '../store/keys.js';
import { audited } from './audit.js';
import { futureDate } from './dates.js';
import { checkRateLimitNames, payForCredits } from './key-limit-params.js';
import type { CreditsSetting, RateLimitRule } from '../store/key-limits.js';
import { allowlistParam } from './ip-allowlist.js';

/**
 * Frappe's User -> API Access -> Generate Keys. The api_key is created once
 * and kept; every call issues a new secret. The old secret stops working at
 * once, or after `grace_seconds` so services can roll the new one out
 * without downtime. Frappe answers only `api_secret`; we add the rest (a
 * superset, so Frappe clients keep working). The secret is returned here
 * and never again.
 */
export const generateKeys = method({
  name: 'frappe.core.doctype.user.user.generate_keys',
  summary: "Issue a new api_secret for a user, creating the user's api_key on first use.",
  roles: [SYSTEM_MANAGER],
  readOnly: false,
  errors: ['not_found', 'conflict'],
  async handler({ user, expires_at, scopes, ip_allowlist, grace_seconds = 0, ratelimits, credits }, ctx) {
    const { services, log } = ctx;
    checkRateLimitNames(ratelimits);
    if (grace_seconds > services.limits.maxGraceSeconds) {
      throw invalidParams([{ path: '/grace_seconds', message: `must be at most ${services.limits.maxGraceSeconds} (MAX_GRACE_SECONDS)` }]);
    }
    const ipAllowlist = allowlistParam(ip_allowlist);
    const target = await services.storage.users.get(user);
    let asked: Asked = { expiresAt: futureDate(expires_at, '/expires_at'), scopes, ipAllowlist, ratelimits };
    // A restricted token writes exactly the credential it was checked for, so a
    // revocation or widening landing in between cannot hand it a wider key.
    if (restricted(ctx.caller)) asked = await checkRotation(ctx, target, asked, credits);
    const apiSecret = newApiSecret();
    const { key, created } = await services.storage.keys.issueSecret(target, hashSecret(apiSecret), { ...asked, credits, graceSeconds: grace_seconds });
    log.info({ target: user, api_key: key.api_key, grace_seconds }, created ? 'api key created' : 'api secret rotated');
    await audited(ctx, created ? 'keys.generate' : 'keys.rotate', user, key.api_key);
    const info = keyInfo(key);
    return {
      api_key: key.api_key,
      api_secret: apiSecret,
      expires_at: info.expires_at,
      scopes: info.scopes,
      previous_valid_until: info.previous_valid_until,
      ratelimits: info.ratelimits,
      credits: info.credits,
      ip_allowlist: info.ip_allowlist,
    };
  },
});

/** What a call asks of the key; undefined: what the key has stays. */
interface Asked {
  expiresAt: Date | null | undefined;
  scopes: string[] | undefined;
  ipAllowlist: string[] | undefined;
  ratelimits: RateLimitRule[] | undefined;
}

/**
 * A restricted token (scoped, expiring, bound to addresses, or limited by
 * rate or credits) may only issue a key within itself: the key as it will
 * be, with the scopes, expiry, ip_allowlist and limits it keeps when none are given (a new key keeps none:
 * unscoped, never expiring, usable anywhere), and, for another user's key,
 * that user's roles. Checked before anything is written; returns the
 * credential checked, which is the one to write.
 */
async function checkRotation(
  ctx: CallContext,
  target: UserDoc,
  asked: Asked,
  credits: CreditsSetting | null | undefined,
): Promise<{ scopes: string[]; expiresAt: Date | null; ipAllowlist: string[]; ratelimits: RateLimitRule[] }> {
  const current = await currentKey(ctx, target);
  const { caller } = ctx;
  const self = caller.userId ? caller.userId.equals(target._id) : caller.user === target.name;
  const credential = {
    scopes: asked.scopes ?? current?.scopes ?? [],
    expiresAt: asked.expiresAt !== undefined ? asked.expiresAt : (current?.expires_at ?? null),
    ipAllowlist: asked.ipAllowlist ?? current?.ip_allowlist ?? [],
    ratelimits: asked.ratelimits ?? current?.ratelimits ?? [],
  };
  const limits = {
    ratelimits: credential.ratelimits,
    credits: credits !== undefined ? credits : (current?.credits ?? null),
    kept: { ratelimits: asked.ratelimits === undefined && current !== null, credits: credits === undefined && current !== null },
    self,
    issuesSecret: true,
  };
  const keeps = current !== null;
  checkCredential(caller, {
    ...credential,
    kept: {
      scopes: asked.scopes === undefined && keeps,
      expiresAt: asked.expiresAt === undefined && keeps,
      ipAllowlist: asked.ipAllowlist === undefined && keeps,
    },
    otherOwner: self ? undefined : target,
    limits,
  });
  await payForCredits(ctx, limits);
  return credential;
}

/** The user's key, or null before its first issue. */
async function currentKey(ctx: CallContext, user: UserDoc): Promise<KeyDoc | null> {
  try {
    return await ctx.services.storage.keys.get(user);
  } catch (err) {
    if (err instanceof AppError && err.kind === 'not_found') return null;
    throw err;
  }
}
