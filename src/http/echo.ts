/**
 * Client input repeated back (a method name, a doctype, a field, a content
 * type in an error message): never when it holds a secret. A client that
 * pasted its secret in the wrong place must not get it back in an answer
 * that proxies, browser consoles and bug reports keep (found by an outside
 * attacker: `GET /api/method/<secret>` answered `Method not found: tas_...`).
 */
import { holdsSecret, secretShaped, withholdSecrets } from '../auth/token.js';

/**
 * Whether a text holds something shaped like a secret (a mistyped one is
 * still most of one), or a real secret as holdsSecret recognises it.
 */
export function holdsSecretText(text: string): boolean {
  return secretShaped(text) || holdsSecret(text);
}

/** The text, or undefined when it must not be repeated. */
export function echoable(text: string): string | undefined {
  return holdsSecretText(text) ? undefined : text;
}

/**
 * The last net, for a whole message built from client input: everything
 * shaped like a secret withheld, and a message that still holds one (as
 * holdsSecret recognises it) replaced by `fallback`.
 */
export function withheld(text: string, fallback: string): string {
  const out = withholdSecrets(text);
  return holdsSecret(out) ? fallback : out;
}
