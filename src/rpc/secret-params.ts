/**
 * Params that hold an API secret are refused before anything reads them. A
 * secret belongs in the Authorization header (or in the one param of a
 * method that takes a token to check or report); pasted anywhere else, it
 * would be echoed in an error ("User tas_... not found") or stored where
 * others read it (a key's scopes, a user's full name), found by an outside
 * attacker. A secret counts however it is prefixed (`TAS_`, `tas&#95;`,
 * none: its body alone is the secret), and only a real one (the checksum
 * holds), so no honest value is refused by accident (auth/token.ts).
 */
import { holdsSecret, withholdSecrets } from '../auth/token.js';

/** A value still to look at: where it sits is kept as a link to its parent, and spelt out only for a hit. */
interface Visit {
  value: unknown;
  key: string;
  parent: Visit | null;
}

/** The JSON pointer of the first param (outside `allowed`, top-level names) that holds a secret, or null. */
export function secretParam(params: unknown, allowed: readonly string[] = []): string | null {
  const stack: Visit[] = [{ value: params, key: '', parent: null }];
  while (stack.length > 0) {
    const at = stack.pop()!;
    const { value } = at;
    if (typeof value === 'string') {
      if (holdsSecret(value)) return pointer(at) || '/';
    } else if (Array.isArray(value)) {
      value.forEach((v: unknown, i) => stack.push({ value: v, key: String(i), parent: at }));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (at.parent === null && allowed.includes(k)) continue;
        // A key can hold one as well as a value (an unknown field is named in the error):
        // named withheld, as a key's first characters may be the body's.
        if (holdsSecret(k)) return `${pointer(at)}/${withholdSecrets(k).slice(0, 64)}`;
        stack.push({ value: v, key: k, parent: at });
      }
    }
  }
  return null;
}

function pointer(at: Visit): string {
  let path = '';
  for (let v = at; v.parent !== null; v = v.parent) path = `/${v.key}${path}`;
  return path;
}
