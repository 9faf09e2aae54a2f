/**
 * The way every request to a door travels, in one place. Each step is a
 * module of steps/ with its own test; a request visits each once, in this
 * order, and the first that answers (or throws) ends it. Then its door
 * (doors/) serves it. Per-request state is the Exchange (exchange.ts).
 *
 * Adding a step (a per-key limit, an IP allowlist) is one module and one
 * line here: after `credentials` it knows the caller, after `context` the
 * call's context.
 */
import { AppError, toAppError } from '../errors.js';
import type { Services } from '../rpc/spec.js';
import type { Exchange, Step } from './exchange.js';
import { route, type Doors } from './steps/route.js';
import { refuseSecretInUrl } from './steps/url-secret.js';
import { cors } from './steps/cors.js';
import { verb } from './steps/verb.js';
import { body, type BodyLimits } from './steps/body.js';
import { oldClient } from './steps/old-client.js';
import { envelope } from './steps/envelope.js';
import { credentials } from './steps/credentials.js';
import { keyLimits, type CostOf } from './steps/key-limits.js';
import { ipAllowlist } from './steps/ip-allowlist.js';
import { context } from './steps/context.js';
import { admit, serveSigned } from './steps/secret-scanning.js';

export interface PipelineConfig {
  services: Services;
  doors: Doors;
  body: BodyLimits;
  maxBatch: number;
  /** Origins allowed to call from a browser (CORS); empty: CORS off. */
  corsOrigins: readonly string[];
  /** The credits each method's call spends (the method table's cost). */
  costOf: CostOf;
}

export function pipeline(config: PipelineConfig): (x: Exchange) => Promise<void> {
  const { doors } = config;
  const steps: readonly Step[] = [
    route(doors), // which door, or 404
    refuseSecretInUrl, // a token in the query string, a secret anywhere in the URL: 400 (Frappe's door: 417)
    cors(config.corsOrigins), // the allowed origin noted; OPTIONS answered
    verb, // 405 with Allow
    admit(doors.secretScanning), // a secret-scanning report: unsigned, an unknown key or a client over its limit refused before its body is read
    body(config.body), // read, at most MAX_BODY_BYTES: 413; bytes in flight per client (429) and in all (503)
    serveSigned(doors.secretScanning), // a secret-scanning report: its signature checked, answered here, with no token check
    oldClient(doors.jsonrpc, doors.rest), // a form with cmd posted to /: the REST door
    envelope(doors.jsonrpc, config.maxBatch), // JSON-RPC parsed once: ids for refusals, a batch's weight
    credentials(config.services.auth), // the token check: 401, 429 after a tarpit, 503
    ipAllowlist, // the key's ip_allowlist: 403 naming the client address (before the limits: a call from elsewhere spends nothing)
    keyLimits(config.services.auth.keyLimits, config.costOf), // the key's rate limits and credits: 429 with Retry-After
    context(config.services), // the call's context, labelled with the door
  ];
  return (x) => run(steps, x);
}

/** Runs `steps`, then the door; exported for the steps' own tests. */
export async function run(steps: readonly Step[], x: Exchange): Promise<void> {
  x.timed = true;
  try {
    for (const step of steps) {
      const go = step(x);
      // Only an asynchronous step costs an await.
      if (go === false || (go !== true && !(await go))) return;
    }
    await x.door.serve(x);
  } catch (err) {
    const appErr = toAppError(err);
    // Only what nobody meant to happen carries its error (and stack) into the log.
    if (!(err instanceof AppError)) x.log.error({ req_id: x.id, outcome: appErr.kind, err }, 'request failed');
    x.fail(appErr);
  }
}
