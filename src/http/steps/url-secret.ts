/**
 * Step 2, secrets in the URL: a `token` in the query string is refused
 * (secret_in_url), never read or ignored. A secret in a URL lands in
 * proxies' access logs and browser history; the client should know. Costs
 * the hot path one comparison: JSON-RPC clients send no query string.
 */
import { AppError } from '../../errors.js';
import type { Step } from '../exchange.js';

/** Names whose value is a secret. */
const SECRET_PARAMS = ['token'];

/** The secret a query string carries by name, or undefined. */
export function secretInQuery(query: string): string | undefined {
  const fields = new URLSearchParams(query);
  return SECRET_PARAMS.find((n) => fields.has(n));
}

export const refuseSecretInUrl: Step = (x) => {
  if (x.query === '') return true;
  const name = secretInQuery(x.query);
  if (name === undefined) return true;
  throw new AppError('secret_in_url', `Do not send a ${name} in the URL, where access logs and browser history keep it: send it in a POST body (form or JSON)`);
};
