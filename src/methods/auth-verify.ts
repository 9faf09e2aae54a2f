import { method, type Returnable, type Services } from '../rpc/spec.js';
import type { Identity } from '../rpc/schema-types.js';
import { AppError } from '../errors.js';
import { parseToken } from '../auth/token.js';
import type { Caller } from '../auth/verify.js';
import { SYSTEM_MANAGER } from '../store/users.js';

export const TOKEN_VERIFIER = 'Token Verifier';

/**
 * Who the token is, and what it may still spend: its credits and each rate
 * limit's window as this instance knows them (for the caller's own token,
 * after this call was charged). Checking another token spends none of it.
 */
async function identity(c: Caller, services: Services): Promise<Returnable<Identity>> {
  const { credits, ratelimits } = c.apiKey === null ? { credits: null, ratelimits: [] } : await services.auth.keyLimits.snapshot(c.apiKey, c.limits);
  return {
    valid: true,
    user: c.user,
    roles: c.roles,
    api_key: c.apiKey,
    scopes: c.scopes,
    expires_at: c.expiresAt,
    ip_allowlist: c.ipAllowlist?.texts ?? [],
    credits,
    ratelimits: ratelimits.map((r) => ({ name: r.name, limit: r.limit, remaining: r.remaining, reset_at: new Date(r.resetAt).toISOString() })),
  };
}

/**
 * Without `token`: who am I. With `token`: is this other token good (for
 * services that check tokens on behalf of their own callers), which only
 * System Managers and Token Verifiers may ask. A token checked here is a
 * guess like one in a header: its failures count against the caller (as
 * against an address) and against the api_key it names, and past the limit
 * the caller gets -32029, never a silent {valid: false}.
 */
export const authVerify = method({
  name: 'auth.verify',
  secretParams: ['token'],
  summary: "Return the caller's identity, or check another token (System Manager or Token Verifier).",
  roles: [],
  readOnly: true,
  async handler({ token }, { caller, services }) {
    if (token === undefined) return identity(caller, services);
    if (!caller.roles.includes(SYSTEM_MANAGER) && !caller.roles.includes(TOKEN_VERIFIER)) {
      throw new AppError('permission_denied', `checking another token requires the role ${SYSTEM_MANAGER} or ${TOKEN_VERIFIER}`);
    }
    const verdict = await services.auth.judgeToken(parseToken(token), { address: `caller ${caller.apiKey ?? caller.user}`, weight: 1 });
    if (verdict.ok) return identity(verdict.caller, services);
    if (verdict.reason === 'rate_limited') {
      throw new AppError('rate_limited', 'Too many failed token checks', { retry_after: verdict.retryAfter });
    }
    return { valid: false };
  },
});
