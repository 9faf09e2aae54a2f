/**
 * Token scopes: method-name patterns a token is limited to. `user.get` names
 * one method, `user.*` every method under `user.` (at any depth), `*` all.
 * A scope only narrows: the caller's roles still apply on top.
 */

/**
 * The one grammar. schemas/common.json's `scope` and the web page's check
 * (web/keyfields.js) spell it too; test/scopes.test.ts keeps the three equal.
 */
export const SCOPE_PATTERN = /^(\*|[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(\.\*)?)$/;

export function scopeAllows(scope: string, method: string): boolean {
  if (scope === '*') return true;
  if (scope.endsWith('.*')) return method.startsWith(scope.slice(0, -1));
  return scope === method;
}

/** No scopes at all means the token is not limited by scope. */
export function scopesAllow(scopes: readonly string[], method: string): boolean {
  return scopes.length === 0 || scopes.some((s) => scopeAllows(s, method));
}
