/**
 * Containment: whatever a call made with a token creates or changes can
 * never do more, live longer, or be used from more places than that token
 * itself. Otherwise a token scoped to one method (say auth.keys.update)
 * could give itself, or a key it is handed, every method, a short-lived
 * token could outlive its expiry, and a token bound to one network could
 * mint a key that works from anywhere.
 *
 * Pure: the handlers read what they need (the key as it is, the target user),
 * ask here, and write only after a yes, so a refusal changes nothing.
 * Refusals are permission_denied and say which part was too wide.
 */
import { AppError } from '../errors.js';
import type { Caller } from './caller.js';
import { checkLimits, type LimitCredential } from './limit-containment.js';
import { Ranges, parseRange } from '../ip.js';

/** The parts of a caller containment looks at (the CLI's operator() is unscoped, never expires, has no limits, and works anywhere). */
export type Holder = Pick<Caller, 'scopes' | 'expiresAt' | 'roles' | 'limits'> & Partial<Pick<Caller, 'ipAllowlist'>>;

/** Scopes that limit nothing: none at all (the stored meaning of []), or '*' among them. */
export function unscoped(scopes: readonly string[]): boolean {
  return scopes.length === 0 || scopes.includes('*');
}

/**
 * A token limited by scope, by time, by address, or by rate limits or
 * credits. Only such a token can be exceeded, so only its calls are checked
 * (and pay for the extra reads).
 */
export function restricted(caller: Pick<Holder, 'scopes' | 'expiresAt' | 'ipAllowlist' | 'limits'>): boolean {
  return !unscoped(caller.scopes) || caller.expiresAt !== null || (caller.ipAllowlist ?? null) !== null || !!caller.limits;
}

/**
 * Every method `inner` allows, `outer` allows too, including methods not
 * written yet: so a family contains its members and narrower families
 * ("user.*" contains "user.get", "user.x.*" and itself), but an exact scope
 * contains only itself, and only "*" contains "*".
 */
export function scopeContains(outer: string, inner: string): boolean {
  if (outer === '*') return true;
  if (inner === '*') return false;
  if (outer.endsWith('.*')) return inner.startsWith(outer.slice(0, -1));
  return inner === outer;
}

/**
 * Whether a key with `requested` scopes can do nothing a token with `holder`
 * scopes cannot. An empty list means no limit on either side, so a scoped
 * token never contains an unscoped key.
 */
export function scopesContain(holder: readonly string[], requested: readonly string[]): boolean {
  if (unscoped(holder)) return true;
  if (unscoped(requested)) return false;
  return requested.every((inner) => holder.some((outer) => scopeContains(outer, inner)));
}

/** Whether a key expiring at `expiresAt` (null: never) stops no later than a token expiring at `holder`. */
export function expiryWithin(holder: string | null, expiresAt: Date | null): boolean {
  if (holder === null) return true;
  return expiresAt !== null && expiresAt.getTime() <= Date.parse(holder);
}

/**
 * The entries of a key's ip_allowlist (canonical; [] is anywhere) that a
 * token allowed only from `holder` does not cover: each must lie wholly
 * inside one of the holder's ranges. [] itself is wider than any list, and
 * comes back as ['anywhere'].
 */
export function allowlistBeyond(holder: Ranges | null, requested: readonly string[]): string[] {
  if (holder === null) return [];
  if (requested.length === 0) return ['anywhere'];
  return requested.filter((entry) => {
    const range = parseRange(entry);
    return typeof range === 'string' || !holder.covers(range);
  });
}

/** The roles in `roles` the holder lacks. */
export function rolesBeyond(holder: readonly string[], roles: readonly string[]): string[] {
  return roles.filter((r) => !holder.includes(r));
}

/** A key as it will be after the call: the fields asked for, merged with what the key keeps. */
export interface Credential {
  /** [] means no limit. */
  scopes: readonly string[];
  expiresAt: Date | null;
  /** Canonical ranges; [] means anywhere. Absent: not part of this check. */
  ipAllowlist?: readonly string[];
  /** Which of these were not asked for but kept from the key (for the message). */
  kept?: { scopes?: boolean; expiresAt?: boolean; ipAllowlist?: boolean };
  /**
   * The key's owner when that is not the caller: the key acts with the
   * owner's roles, so the caller must hold them all (else a scoped token
   * could take over a more powerful account by rotating its key).
   */
  otherOwner?: { name: string; roles: readonly string[] } | undefined;
  /** Its rate limits and credits (limit-containment.ts). */
  limits?: LimitCredential;
}

const NEEDS_UNRESTRICTED = 'needs a token without scopes, expiry or IP allowlist';

function showScopes(scopes: readonly string[]): string {
  return scopes.length === 0 ? '[] (no limit)' : JSON.stringify(scopes);
}

/** Throws permission_denied unless the resulting key stays within the calling token. */
export function checkCredential(caller: Holder, key: Credential): void {
  if (!restricted(caller)) return;
  if (key.otherOwner) {
    const missing = rolesBeyond(caller.roles, key.otherOwner.roles);
    if (missing.length > 0) {
      throw new AppError(
        'permission_denied',
        // The roles are not named: a token that may not read users must not learn them here.
        `a key of ${key.otherOwner.name} acts with roles this token's user does not hold; that ${NEEDS_UNRESTRICTED}`,
      );
    }
  }
  if (!scopesContain(caller.scopes, key.scopes)) {
    const kept = key.kept?.scopes ? ' (kept from the key: give scopes to narrow them)' : '';
    throw new AppError('permission_denied', `scopes ${showScopes(key.scopes)}${kept} are wider than this token's scopes ${JSON.stringify(caller.scopes)}`);
  }
  if (!expiryWithin(caller.expiresAt, key.expiresAt)) {
    const would = key.expiresAt ? `expire at ${key.expiresAt.toISOString()}` : 'never expire';
    const kept = key.kept?.expiresAt ? ' (kept from the key: give expires_at to shorten it)' : '';
    throw new AppError('permission_denied', `expires_at must be no later than this token's expiry ${caller.expiresAt}; the key would ${would}${kept}`);
  }
  const beyond = allowlistBeyond(caller.ipAllowlist ?? null, key.ipAllowlist ?? []);
  if (beyond.length > 0) {
    const kept = key.kept?.ipAllowlist ? ' (kept from the key: give ip_allowlist to narrow it)' : '';
    throw new AppError(
      'permission_denied',
      `ip_allowlist ${JSON.stringify(key.ipAllowlist ?? [])}${kept} is wider than this token's ip_allowlist ${JSON.stringify(caller.ipAllowlist?.texts)}: ${beyond.join(', ')} lies outside it`,
    );
  }
  if (key.limits) checkLimits(caller.limits, key.limits);
}

export interface UserFields {
  roles?: readonly string[] | undefined;
  enabled?: boolean | undefined;
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r) => b.includes(r)) && b.every((r) => a.includes(r));
}

/**
 * Roles and the enabled flag decide what every key of a user can do, so
 * granting or removing roles and enabling a user need an unrestricted token.
 * A restricted one may still change harmless fields, disable a user (a
 * narrowing), and send back roles or enabled as they already are (a whole
 * document round-tripped through the REST door): those are left out of the
 * write, so a change landing in between is never undone.
 *
 * `current` is the user as stored, or undefined for one being created.
 * Returns the changes to write.
 */
export function checkUserChange<T extends UserFields>(caller: Holder, changes: T, current?: Required<UserFields>): T {
  if (!restricted(caller)) return changes;
  const out = { ...changes };
  if (out.roles !== undefined) {
    if (current ? !sameRoles(out.roles, current.roles) : out.roles.length > 0) {
      throw new AppError('permission_denied', `changing roles ${NEEDS_UNRESTRICTED}`);
    }
    if (current) delete out.roles;
  }
  if (current && out.enabled === true) {
    if (!current.enabled) throw new AppError('permission_denied', `enabling a user ${NEEDS_UNRESTRICTED}`);
    delete out.enabled;
  }
  return out;
}

/**
 * Deleting a user frees its name: a restricted token could then create it
 * again, enabled, and key it, which brings back a disabled account, or an
 * account it could never have keyed, by name. So a restricted token may
 * delete only an enabled user all of whose roles it holds itself.
 */
export function checkUserDelete(caller: Holder, user: { name: string; roles: readonly string[]; enabled: boolean }): void {
  if (!restricted(caller)) return;
  if (!user.enabled) throw new AppError('permission_denied', `deleting a disabled user ${NEEDS_UNRESTRICTED}`);
  if (rolesBeyond(caller.roles, user.roles).length > 0) {
    throw new AppError('permission_denied', `deleting ${user.name}, who holds roles this token's user does not hold, ${NEEDS_UNRESTRICTED}`);
  }
}
