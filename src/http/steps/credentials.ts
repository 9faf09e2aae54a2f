/**
 * Step 8, credentials: the token check, once per HTTP request (a batch pays
 * for one, charged for each of its calls). Every door refuses the same way
 * and only the body differs (the door's shape):
 *
 * - 401 with WWW-Authenticate: missing, malformed, unknown or wrong
 *   credentials, all in the same words, so nothing can be probed;
 * - 429 with Retry-After, after a tarpit: a client over its failure limit
 *   waits for each refusal, so a flood on kept-alive connections slows to a
 *   trickle instead of taking the CPU;
 * - the token check's own failure (the database is down): 503.
 *
 * The failure limits count an IPv6 client by its /64 (Exchange.limitKey).
 */
import { AppError, toAppError } from '../../errors.js';
import type { Authenticator } from '../../auth/verify.js';
import { performance } from 'node:perf_hooks';
import type { Exchange, Step } from '../exchange.js';

const TARPIT_MS = 1000;

/**
 * A client over its failure limit: 429 with Retry-After, TARPIT_MS after the
 * request began (so whether a lookup ran first does not show).
 */
export function tarpit(x: Exchange, retryAfter: number): void {
  const refusal = new AppError('rate_limited', 'Too many failed authentication attempts');
  x.res.setHeader('Retry-After', String(retryAfter));
  setTimeout(() => x.fail(refusal), Math.max(0, TARPIT_MS - (performance.now() - x.started)));
}

export function credentials(auth: Authenticator): Step {
  return async (x) => {
    let verdict;
    try {
      verdict = await auth.authenticate(x.req.headers.authorization, { address: x.limitKey, weight: x.weight });
    } catch (err) {
      const appErr = toAppError(err);
      x.log.error({ req_id: x.id, outcome: appErr.kind, err }, 'token check failed');
      x.fail(appErr);
      return false;
    }
    if (verdict.ok) {
      x.caller = verdict.caller;
      return true;
    }
    x.log.info({ req_id: x.id, outcome: 'authentication_failed', reason: verdict.reason }, 'request refused');
    if (verdict.reason === 'rate_limited') {
      tarpit(x, verdict.retryAfter);
      return false;
    }
    x.res.setHeader('WWW-Authenticate', 'token');
    // Whoever presented the right secret of an expired token may learn why it
    // failed; every other failure gets the same words, so nothing can be probed.
    x.fail(new AppError('authentication_failed', verdict.reason === 'expired' ? 'Authentication failed: the token has expired' : undefined));
    return false;
  };
}
