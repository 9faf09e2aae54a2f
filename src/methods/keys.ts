/**
 * A key's life after generate_keys: read its metadata, list, change expiry,
 * scopes or IP allowlist, revoke. No method here ever returns a secret or its hash.
 */
import { method, type CallContext } from '../rpc/spec.js';
import { AppError } from '../errors.js';
import { SYSTEM_MANAGER, type UserDoc } from '../store/users.js';
import { keyInfo } from '../store/keys.js';
import { audited } from './audit.js';
import { futureDate } from './dates.js';
import { checkCredential, restricted } from '../auth/containment.js';
import { checkRateLimitNames, payForCredits } from './key-limit-params.js';
import { allowlistParam } from './ip-allowlist.js';

/**
 * The owner of the key a caller may manage: System Managers manage every
 * key, anyone else only their own. Checked before the user is looked up, so
 * a refusal tells nothing about who exists.
 */
async function managedOwner(ctx: CallContext, user: string): Promise<UserDoc> {
  if (ctx.caller.user !== user && !ctx.caller.roles.includes(SYSTEM_MANAGER)) {
    throw new AppError('permission_denied', `only ${SYSTEM_MANAGER}s may manage another user's key`);
  }
  return ctx.services.storage.users.get(user);
}

export const keysGet = method({
  name: 'auth.keys.get',
  summary: "Read a user's key metadata (System Manager, or the user itself); never the secret.",
  roles: [],
  readOnly: true,
  errors: ['not_found'],
  async handler({ user }, ctx) {
    return keyInfo(await ctx.services.storage.keys.get(await managedOwner(ctx, user)));
  },
});

export const keysList = method({
  name: 'auth.keys.list',
  summary: 'List key metadata by user name, a page at a time.',
  roles: [SYSTEM_MANAGER],
  readOnly: true,
  async handler({ start = 0, limit = 20, user }, { services }) {
    let userId;
    if (user !== undefined) {
      const owner = await services.storage.users.find(user);
      if (!owner) return [];
      userId = owner._id;
    }
    const now = Date.now();
    return (await services.storage.keys.list(start, limit, userId)).map((k) => keyInfo(k, now));
  },
});

export const keysUpdate = method({
  name: 'auth.keys.update',
  summary: "Change a key's expiry, scopes, IP allowlist, rate limits or credits; the secret stays.",
  roles: [SYSTEM_MANAGER],
  readOnly: false,
  errors: ['not_found'],
  async handler({ user, expires_at, scopes, ip_allowlist, ratelimits, credits }, ctx) {
    const { caller, services } = ctx;
    checkRateLimitNames(ratelimits);
    const ipAllowlist = allowlistParam(ip_allowlist);
    const owner = await services.storage.users.get(user);
    let changes = { expiresAt: futureDate(expires_at, '/expires_at'), scopes, ipAllowlist, ratelimits, credits };
    if (restricted(caller)) {
      // A restricted token may not widen a key beyond itself: check the key as
      // it will be (what is asked merged with what it keeps), and write all of
      // it, so a widening landing in between is overwritten by what was checked.
      const current = await services.storage.keys.get(owner);
      const self = caller.userId ? caller.userId.equals(owner._id) : caller.user === owner.name;
      const checked = {
        scopes: scopes ?? current.scopes ?? [],
        expiresAt: changes.expiresAt !== undefined ? changes.expiresAt : (current.expires_at ?? null),
        ipAllowlist: ipAllowlist ?? current.ip_allowlist ?? [],
        ratelimits: ratelimits ?? current.ratelimits ?? [],
      };
      const limits = {
        ratelimits: checked.ratelimits,
        credits: credits !== undefined ? credits : (current.credits ?? null),
        kept: { ratelimits: ratelimits === undefined, credits: credits === undefined },
        self,
        issuesSecret: false,
      };
      checkCredential(caller, {
        ...checked,
        kept: { scopes: scopes === undefined, expiresAt: changes.expiresAt === undefined, ipAllowlist: ipAllowlist === undefined },
        // The key acts with its owner's roles: widening it is widening them.
        otherOwner: self ? undefined : owner,
        limits,
      });
      await payForCredits(ctx, limits);
      // Credits kept are not written again: that would set the balance back to what was read.
      changes = { ...checked, credits };
    }
    const key = await services.storage.keys.update(owner, changes);
    ctx.log.info({ target: user, api_key: key.api_key }, 'api key updated');
    await audited(ctx, 'keys.update', user, key.api_key);
    return keyInfo(key);
  },
});

export const keysRevoke = method({
  name: 'auth.keys.revoke',
  summary: "Revoke a user's key pair (System Manager, or the user itself); the next generate_keys makes a new api_key.",
  roles: [],
  readOnly: false,
  errors: ['not_found'],
  async handler({ user }, ctx) {
    const key = await ctx.services.storage.keys.revoke(await managedOwner(ctx, user));
    ctx.log.info({ target: user, api_key: key.api_key }, 'api key revoked');
    await audited(ctx, 'keys.revoke', user, key.api_key);
    return { user, api_key: key.api_key, revoked: true };
  },
});
