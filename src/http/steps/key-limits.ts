/**
 * Step 9, key limits: a token's rate limits and credits (auth/key-limiter.ts,
 * docs/limits.md), on every door. A request is charged whole before any of
 * its calls runs: each call (each of a batch's) counts against every rate
 * limit, and spends its method's cost (the method table's `cost`, default 1)
 * of the credits. Over a limit, or short of credits: 429 with Retry-After
 * (JSON-RPC -32029; error.data says which limit, or `credits`), and nothing
 * is charged. An answer to a key with rate limits carries the RateLimit-Policy
 * and RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11) of its
 * tightest limit: the one with the fewest calls left.
 *
 * A key without limits costs one property read; the CLI's operator holds no
 * token and no limits.
 */
import type { KeyLimiter, Admission, Charge, RateAdvice } from '../../auth/key-limiter.js';
import type { Exchange, Step } from '../exchange.js';
import { readInput } from '../params.js';
import { methodName } from './route.js';

/** The credits each method's call spends (the method table's `cost`). */
export type CostOf = (method: unknown) => number;

export function keyLimits(limiter: KeyLimiter, costOf: CostOf): Step {
  return (x) => {
    const { limits, apiKey } = x.caller;
    if (!limits || apiKey === null) return true;
    const charge = chargeOf(x, costOf);
    // Admitted from the shares in hand (the common case) without a promise.
    const now = Date.now();
    const tightest = limiter.admitNow(apiKey, limits, charge, now);
    if (tightest !== undefined) {
      if (tightest) advertise(x, tightest, now);
      return true;
    }
    return limiter.admit(apiKey, limits, charge).then((admission) => answer(x, admission, apiKey));
  };
}

function answer(x: Exchange, admission: Admission, apiKey: string): true {
  if (!admission.ok) {
    x.log.info({ req_id: x.id, outcome: admission.error.kind, api_key: apiKey }, 'request refused: key limit');
    throw admission.error;
  }
  if (admission.tightest) advertise(x, admission.tightest, Date.now());
  return true;
}

/** The common charge, shared: one call of cost 1. */
const ONE_CALL: Charge = Object.freeze({ calls: 1, cost: 1 });

function charge(calls: number, cost: number): Charge {
  return calls === 1 && cost === 1 ? ONE_CALL : { calls, cost };
}

/** What the request asks of the key: its calls, and their cost. */
export function chargeOf(x: Exchange, costOf: CostOf): Charge {
  if (x.parsed) {
    const { request } = x.parsed;
    // Only an object can be a call; anything else is answered -32600 without running.
    const isCall = (c: unknown) => c !== null && typeof c === 'object' && !Array.isArray(c);
    if (!Array.isArray(request)) return isCall(request) ? charge(1, costOf((request as { method?: unknown }).method)) : charge(0, 0);
    let n = 0;
    let cost = 0;
    for (const c of request as unknown[]) {
      if (!isCall(c)) continue;
      n++;
      cost += costOf((c as { method?: unknown }).method);
    }
    return charge(n, cost);
  }
  const route = x.route;
  if (!route) return ONE_CALL; // /metrics
  if (route.kind === 'method') return charge(1, costOf(route.cmd ? oldClientMethod(x) : route.name));
  return charge(1, costOf(resourceMethod(route.kind, x.req.method ?? 'GET')));
}

/**
 * The method an old client's `cmd` names, read as the REST door reads it
 * (found by an outside attacker: charged the default cost, a cmd ran a
 * method of cost 5 or 10 for 1). Input the door cannot read is refused
 * there; here it costs the default.
 */
function oldClientMethod(x: Exchange): string {
  try {
    return methodName(readInput(x.req, x.query, x.body).cmd ?? '');
  } catch {
    return '';
  }
}

/** The method a /api/resource request runs (resource.ts's plans). */
function resourceMethod(kind: 'collection' | 'document', verb: string): string {
  if (kind === 'collection') return verb === 'GET' ? 'user.list' : 'user.create';
  return verb === 'GET' ? 'user.get' : verb === 'PUT' ? 'user.update' : 'user.delete';
}

/** The draft's Structured Fields (a String item per policy; see RateAdvice), on the Exchange's own header list: res.setHeader would send every header of the answer through its slower path. */
function advertise(x: Exchange, tightest: RateAdvice, now: number): void {
  x.headers = ['RateLimit-Policy', tightest.policy, 'RateLimit', tightest.field(now)];
}
