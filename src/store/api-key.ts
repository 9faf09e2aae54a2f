/**
 * The api_key: the public, unique name of a key document, minted here when
 * the key store creates a key and never changed afterwards:
 *
 *   api_key    tak_<20 alphanumerics>    ~119 random bits, public
 *
 * It lives with storage, which makes it; the secret's format (and the whole
 * token, key:secret) is auth/token.ts, which builds on this.
 */
import { customAlphabet } from 'nanoid';

/** Alphanumerics only, so a double-click selects the whole value and no URL or header encoding is ever needed. */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PREFIX = 'tak_';
const KEY_BODY = 20;

const randomKeyBody = customAlphabet(BASE62, KEY_BODY);
const API_KEY_RE = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${KEY_BODY}}$`);

export function newApiKey(): string {
  return KEY_PREFIX + randomKeyBody();
}

export function isWellFormedApiKey(key: string): boolean {
  return API_KEY_RE.test(key);
}
