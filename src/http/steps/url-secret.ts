/**
 * Step 2, secrets in the URL: a credential in the query string is refused
 * (secret_in_url), never read or ignored. A secret in a URL lands in
 * proxies' access logs and browser history; the client should know. Costs
 * the hot path one comparison: JSON-RPC clients send no query string.
 *
 * Refused: a parameter whose name, in any case and without brackets or
 * stray characters (Token, token[], token%00), is one credentials go by;
 * and any name or value holding something shaped like one of our secrets,
 * whatever it is called (?x=tas_..., ?tas_...).
 */
import { AppError } from '../../errors.js';
import type { Step } from '../exchange.js';
import { secretShaped } from '../../auth/token.js';

/** Names credentials go by: ours, Frappe's pair, and the usual others. */
const SECRET_NAMES = new Set(['token', 'apisecret', 'authorization', 'accesstoken', 'password', 'secret']);

/** What a query string's credential is called, or undefined when it carries none. */
export function secretInQuery(query: string): string | undefined {
  for (const [name, value] of new URLSearchParams(query)) {
    const plain = name.toLowerCase().replace(/[^a-z]/g, '');
    if (SECRET_NAMES.has(plain)) return plain === 'apisecret' ? 'api_secret' : plain === 'accesstoken' ? 'access_token' : plain;
    if (secretShaped(name) || secretShaped(value)) return 'secret';
  }
  return undefined;
}

export const refuseSecretInUrl: Step = (x) => {
  if (x.query === '') return true;
  const name = secretInQuery(x.query);
  if (name === undefined) return true;
  throw new AppError('secret_in_url', `Do not send a ${name} in the URL, where access logs and browser history keep it: send it in a POST body (form or JSON)`);
};
