/**
 * Client input repeated back (a method name, a doctype, a field, a content
 * type in an error message): never when it holds a secret. A client that
 * pasted its secret in the wrong place must not get it back in an answer
 * that proxies, browser consoles and bug reports keep (found by an outside
 * attacker: `GET /api/method/<secret>` answered `Method not found: tas_...`).
 */
import { secretShaped } from '../auth/token.js';

/** The text, or undefined when it must not be repeated: it holds something shaped like a secret (a mistyped one is still most of one). */
export function echoable(text: string): string | undefined {
  return secretShaped(text) ? undefined : text;
}
