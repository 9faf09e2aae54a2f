/**
 * Params that hold an API secret are refused before anything reads them. A
 * secret belongs in the Authorization header (or in the one param of a
 * method that takes a token to check or report); pasted anywhere else, it
 * would be echoed in an error ("User tas_... not found") or stored where
 * others read it (a key's scopes, a user's full name), found by an outside
 * attacker. Only well-formed secrets (shape and checksum) count, so no
 * honest value is refused by accident.
 */
import { isWellFormedSecret } from '../auth/token.js';

/** Where a secret may start in a text: the prefix, then 30 characters of the body and checksum. */
const CANDIDATE = /tas_[0-9A-Za-z]{30}/g;

/** The JSON pointer of the first param (outside `allowed`, top-level names) that holds a secret, or null. */
export function secretParam(params: unknown, allowed: readonly string[] = []): string | null {
  const stack: { value: unknown; path: string }[] = [{ value: params, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('tas_') && holdsSecret(value)) return path || '/';
    } else if (Array.isArray(value)) {
      value.forEach((v: unknown, i) => stack.push({ value: v, path: `${path}/${i}` }));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (path === '' && allowed.includes(k)) continue;
        // A key can hold one as well as a value (an unknown field is named in the error).
        if (k.includes('tas_') && holdsSecret(k)) return `${path}/${k.slice(0, 4)}...`;
        stack.push({ value: v, path: `${path}/${k}` });
      }
    }
  }
  return null;
}

function holdsSecret(text: string): boolean {
  for (const m of text.matchAll(CANDIDATE)) if (isWellFormedSecret(m[0])) return true;
  return false;
}
