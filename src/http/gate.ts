/**
 * How every door refuses a request whose token check failed, so the
 * JSON-RPC door and Frappe's REST door answer 401 and 429 the same way and
 * only the body differs (each door passes its own error shape). The REST
 * door and /metrics call `admit`; the JSON-RPC door awaits
 * `auth.authenticate` itself and calls the plain functions, so its hot path
 * pays nothing for the sharing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { AppError, ERRORS, toAppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Authenticator, Caller, Verdict } from '../auth/verify.js';
import { TIMED, sendEmpty, sendJson, type Response } from './send.js';

/**
 * A door's error body: JSON-RPC's envelope (with the request's id, or one
 * per call of a batch) or Frappe's; undefined for none (a refused batch of
 * only notifications), when the status and headers say it all.
 */
type ErrorBody = (err: AppError) => unknown;

const NO_CONTENT = ['Content-Length', '0'];

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) sendEmpty(res, status, NO_CONTENT);
  else sendJson(res, status, body);
}

type Refusal = Extract<Verdict, { ok: false }>;

const TARPIT_MS = 1000;

/** The token check itself threw (the database is down): its error, in the door's shape. */
export function checkFailed(log: Logger, res: ServerResponse, requestId: string, err: unknown, body: ErrorBody): void {
  const appErr = toAppError(err);
  log.error({ req_id: requestId, outcome: appErr.kind, err }, 'token check failed');
  send(res, ERRORS[appErr.kind].http, body(appErr));
}

/**
 * 401 with WWW-Authenticate, or 429 with Retry-After after a tarpit. Both
 * doors time the request before the token check, so the response carries its start.
 */
export function refuse(log: Logger, res: ServerResponse, requestId: string, verdict: Refusal, body: ErrorBody): void {
  log.info({ req_id: requestId, outcome: 'authentication_failed', reason: verdict.reason }, 'request refused');
  if (verdict.reason === 'rate_limited') {
    res.setHeader('Retry-After', String(verdict.retryAfter));
    // A tarpit: a client over its limit waits for each refusal, so a flood
    // on kept-alive connections slows to a trickle instead of taking the CPU.
    // Counted from the request's start, so whether a lookup ran first does not show.
    const reply = body(new AppError('rate_limited', 'Too many failed authentication attempts'));
    const { started } = (res as Response)[TIMED]!;
    setTimeout(() => send(res, 429, reply), Math.max(0, TARPIT_MS - (performance.now() - started)));
    return;
  }
  res.setHeader('WWW-Authenticate', 'token');
  // Whoever presented the right secret of an expired token may learn why it
  // failed; every other failure gets the same words, so nothing can be probed.
  const message = verdict.reason === 'expired' ? 'Authentication failed: the token has expired' : undefined;
  send(res, 401, body(new AppError('authentication_failed', message)));
}

/**
 * The token check of a door off the hot path (the REST door, /metrics):
 * the caller, or undefined once the refusal has been answered in the door's
 * shape. The JSON-RPC door writes the same steps inline, so its hot path
 * awaits no extra promise.
 */
export async function admit(
  auth: Authenticator,
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  body: ErrorBody,
): Promise<Caller | undefined> {
  let verdict;
  try {
    verdict = await auth.authenticate(req.headers.authorization, { address: clientAddress(req), weight: 1 });
  } catch (err) {
    checkFailed(log, res, requestId, err, body);
    return undefined;
  }
  if (verdict.ok) return verdict.caller;
  refuse(log, res, requestId, verdict, body);
  return undefined;
}

/** The address the failure limits and the audit log know a client by. */
export function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
