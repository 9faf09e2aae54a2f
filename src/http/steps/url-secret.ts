/**
 * Step 2, secrets in the URL: a credential in the query string, or anything
 * shaped like a secret anywhere in the URL, path included, is refused
 * (secret_in_url), never read or ignored. A secret in a URL lands in
 * proxies' access logs and browser history; the client should know. Costs
 * the hot path one substring search of the path: JSON-RPC clients send no
 * query string.
 *
 * Refused: a query parameter whose name, in any case and without brackets or
 * stray characters (Token, token[], token%00), is one credentials go by;
 * and any name, value or path segment holding something shaped like one of
 * our secrets, whatever it is called (?x=tas_..., ?tas_...,
 * /api/method/tas_..., /api/resource/t%61s_...).
 *
 * The route step (route.ts) runs first, to pick the door whose shape the
 * refusal takes, but reads the path only to match it: it neither logs nor
 * answers it, and a path it cannot route is checked here before its 404.
 */
import { AppError } from '../../errors.js';
import type { Exchange } from '../exchange.js';
import { secretShaped } from '../../auth/token.js';

/** Names credentials go by: ours, Frappe's pair, and the usual others. */
const SECRET_NAMES = new Set(['token', 'apisecret', 'authorization', 'accesstoken', 'password', 'secret']);

/** What a query string's credential is called, or undefined when it carries none. */
export function secretInQuery(query: string): string | undefined {
  for (const name of new URLSearchParams(query).keys()) {
    const plain = name.toLowerCase().replace(/[^a-z]/g, '');
    if (SECRET_NAMES.has(plain)) return plain === 'apisecret' ? 'api_secret' : plain === 'accesstoken' ? 'access_token' : plain;
  }
  // Any name or value, read as the path is (decoded up to three times: URLSearchParams decodes once,
  // and a body encoded twice over, %2541..., is still a secret: found in review).
  return secretInPath(query) ? 'secret' : undefined;
}

/** Rounds of percent-decoding: a secret encoded twice (%2574as_) is still one to whoever decodes the log. */
const DECODE_ROUNDS = 3;
const PERCENT = /%([0-9A-Fa-f]{2})/g;

/**
 * Whether a path (without its query string), or a query string, holds a secret, as sent or
 * percent-decoded. Decoded byte by byte rather than with
 * decodeURIComponent: a secret is ASCII, and one bad escape elsewhere in
 * the path must not hide it (decodeURIComponent would throw).
 */
export function secretInPath(path: string): boolean {
  let text = path;
  for (let round = 0; ; round++) {
    if (secretShaped(text)) return true;
    if (round === DECODE_ROUNDS || !text.includes('%')) return false;
    const decoded = text.replace(PERCENT, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded === text) return false;
    text = decoded;
  }
}

/** What the URL's credential is called ('secret' for one in the path), or undefined when it carries none. */
export function secretInUrl(x: Pick<Exchange, 'path' | 'query'>): string | undefined {
  if (secretInPath(x.path)) return 'secret';
  return x.query === '' ? undefined : secretInQuery(x.query);
}

/** The step; also called by the route step before a 404 (so typed to return true, or throw). */
export const refuseSecretInUrl = (x: Pick<Exchange, 'path' | 'query'>): true => {
  const name = secretInUrl(x);
  if (name === undefined) return true;
  throw new AppError('secret_in_url', `Do not send a ${name} in the URL, where access logs and browser history keep it: send it in a POST body (form or JSON)`);
};
