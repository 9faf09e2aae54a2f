/**
 * Credentials from the Authorization header, in Frappe's two forms:
 *   Authorization: token <api_key>:<api_secret>
 *   Authorization: Basic base64(<api_key>:<api_secret>)
 * Anything else is "no valid credentials"; callers never learn which part failed.
 */
import { parseToken, type TokenParts } from './token.js';

const MAX_HEADER = 512; // a real token is ~60 characters; refuse to decode megabytes

export function parseAuthorization(header: string | undefined): TokenParts | null {
  if (!header || header.length > MAX_HEADER) return null;
  const space = header.indexOf(' ');
  if (space < 0) return null;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'token') return parseToken(value);
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null;
    return parseToken(Buffer.from(value, 'base64').toString('utf8'));
  }
  return null;
}
