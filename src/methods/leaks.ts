/**
 * What a leak report does, whoever sends it: GitHub's secret scanning
 * (doors/secret-scanning.ts), a caller of auth.keys.report_leak, or the
 * operator (`tokenauth report-leak`).
 *
 * A reported token is a bare secret (tas_...: what usually leaks, and what
 * a scanner's pattern for our secrets matches) or api_key:api_secret. Its
 * shape and checksum are checked first: a token that fails them is no
 * secret of ours, and costs no lookup. Otherwise the key holding it is
 * found and, if the secret is live (the current one, or the previous one in
 * its grace), LEAK_POLICY applies (store/leaks.ts): `revoke` ends the key
 * pair at once on every instance; `expire` leaves the secret working for
 * LEAK_GRACE_SECONDS, time to rotate. Each secret ended gets an audit entry
 * `key.leaked` (with where it was found and who reported it) and a warning
 * in the log; neither ever holds the token, nor does anything reported back.
 */
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import { hashSecret, parseToken, secretShaped, secretsIn, withholdSecrets } from '../auth/token.js';
import type { KeyDoc } from '../store/keys.js';
import type { LeakFound } from '../store/leaks.js';
import { method, type Services } from '../rpc/spec.js';

/** Where a reported token comes from, for its audit entry and log line. */
export interface Reporter {
  /** The audit entry's actor: the reporting user, or the scanner. */
  actor: string;
  /** Who found it: github (and GitHub's `source`), report_leak, cli. */
  via: 'github' | 'report_leak' | 'cli';
  address: string;
  requestId: string;
  log: Logger;
}

export interface LeakReport {
  token: string;
  url?: string | undefined;
  /** GitHub's `source` (content, commit, pull_request_comment, ...). */
  source?: string | undefined;
}

export type LeakLabel = 'true_positive' | 'false_positive';

/** What happened to one reported token. Only the operator is shown more than `label`. */
export interface LeakOutcome {
  /** true_positive: a secret of ours that a key holds or held (ended now, or earlier by a report); else false_positive. */
  label: LeakLabel;
  /** What this report did: nothing (null), revoked the key, or made the secret expire. */
  ended: 'revoked' | 'expires' | null;
  /** The key's owner and api_key, when a key holds or held the secret. */
  user?: string;
  api_key?: string;
  /** expires: when the secret stops working. */
  until?: string;
  /** The api_key the token named, if any (the failure limits count it). */
  named?: string;
}

const MAX_TEXT = 2048;

/**
 * A reported text fit for the audit log: nothing shaped like a secret,
 * bounded. A secret's body is withheld whatever precedes it (`TAS_`,
 * `tas&#95;`, `tas\u005f`, `tas＿`, none: auth/token.ts). A URL may also carry
 * one percent-encoded (`tas%5F...`, or the body itself: found by an outside
 * attacker), so the text is read decoded, up to three times over; when the
 * decoded text holds one, it is what is kept, withheld.
 */
export function withheld(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const plain = decoded(text);
  const kept = plain !== text && secretShaped(plain) ? plain : text;
  return withholdSecrets(kept).slice(0, MAX_TEXT);
}

/** The text percent-decoded, up to three times over. */
function decoded(text: string): string {
  let plain = text;
  for (let i = 0; i < 3; i++) {
    const next = percentDecoded(plain);
    if (next === plain) break;
    plain = next;
  }
  return plain;
}

/** Every %XX decoded, as bytes to UTF-8 where they form it (a malformed sequence does not stop the rest). */
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** The SHA-256 of a reported token, hex: what GitHub's feedback names it by (the digest secrets are stored by). */
export function tokenHash(token: string): string {
  return hashSecret(token);
}

/**
 * A reported token -> the secret in it, or null when it holds none of ours.
 * The secret is found by its body (auth/token.ts) in any spelling the text
 * was found in: `TAS_<body>`, percent-encoded, with whitespace or a `Bearer`
 * around it (found by an outside attacker: those were false positives, and
 * the secret kept working). The api_key beside it does not matter: the
 * secret is what leaked, whatever key it was written with. `apiKey`: the key
 * a `key:secret` token named, which the failure limits count when the report
 * ends nothing.
 */
function parseLeaked(token: string): { apiKey?: string; secret: string } | null {
  const text = decoded(token);
  const [secret] = secretsIn(text);
  if (secret === undefined) return null;
  const parts = parseToken(text.trim());
  return parts ? { apiKey: parts.apiKey, secret } : { secret };
}

/** Applies the leak policy to one reported token. */
export async function reportLeak(services: Services, report: LeakReport, by: Reporter): Promise<LeakOutcome> {
  return (await reportLeaks(services, [report], by)).get(report.token)!;
}

/**
 * Applies the leak policy to the tokens of one report (GitHub sends them in
 * batches) as one batch: each distinct token parsed, and all of the well
 * formed ones handled together by the store (store/leaks.ts: a fixed
 * number of database operations, whatever the number of tokens), then one
 * write of the audit entries. The outcomes by token.
 */
export async function reportLeaks(services: Services, reports: readonly LeakReport[], by: Reporter): Promise<Map<string, LeakOutcome>> {
  const outcomes = new Map<string, LeakOutcome>();
  const looked: { report: LeakReport; apiKey: string | undefined; hash: string }[] = [];
  const seen = new Set<string>();
  for (const report of reports) {
    if (seen.has(report.token)) continue; // a token given twice: its first entry is acted on
    seen.add(report.token);
    const parsed = parseLeaked(report.token);
    if (!parsed) outcomes.set(report.token, { label: 'false_positive', ended: null });
    else looked.push({ report, apiKey: parsed.apiKey, hash: hashSecret(parsed.secret) });
  }
  // The outcomes, and the audit entries of what was ended, written while the store records its part.
  const judge = async (found: readonly LeakFound[]) => {
    const leaked: Leaked[] = [];
    for (const [i, { report, apiKey }] of looked.entries()) {
      const f = found[i]!;
      const named = apiKey === undefined ? {} : { named: apiKey };
      if (!f.key) outcomes.set(report.token, { label: f.known ? 'true_positive' : 'false_positive', ended: null, ...named });
      else if (!f.ended) outcomes.set(report.token, { label: 'true_positive', ended: null, user: f.key.user, api_key: f.key.api_key, ...named });
      else {
        const until = f.ended === 'expires' ? { until: f.until.toISOString() } : {};
        leaked.push({ key: f.key, report, ended: f.ended, ...until });
        outcomes.set(report.token, { label: 'true_positive', ended: f.ended, user: f.key.user, api_key: f.key.api_key, ...named, ...until });
      }
    }
    await recordLeaks(services, leaked, by);
  };
  const { policy, graceSeconds } = services.leaks;
  await services.storage.leaks.endMany(
    looked.map((l) => ({ hash: l.hash })),
    policy,
    graceSeconds,
    judge,
  );
  return outcomes;
}

/** A secret ended by a report, and the entry that reported it. */
interface Leaked {
  key: KeyDoc;
  report: LeakReport;
  ended: 'revoked' | 'expires';
  until?: string;
}

/**
 * The audit entries and the warnings, one of each per secret ended. The
 * change is done by now, so entries that cannot be written are logged at
 * error level instead of failing the report (as audited() does for every
 * other change).
 */
async function recordLeaks(services: Services, leaked: readonly Leaked[], by: Reporter): Promise<void> {
  if (leaked.length === 0) return;
  const at = new Date();
  const entries = leaked.map(({ key, report, ended, until }) => {
    const url = withheld(report.url);
    const source = withheld(report.source === undefined ? by.via : `${by.via}:${report.source}`);
    by.log.warn(
      { req_id: by.requestId, target: key.user, api_key: key.api_key, source, url, ended, until },
      ended === 'revoked' ? 'leaked secret reported: key pair revoked' : 'leaked secret reported: it stops working at the end of the leak grace',
    );
    return {
      at,
      actor: by.actor,
      action: 'key.leaked' as const,
      target: key.user,
      api_key: key.api_key,
      address: by.address,
      request_id: by.requestId,
      ...(url === undefined ? {} : { url }),
      ...(source === undefined ? {} : { source }),
    };
  });
  try {
    await services.storage.audit.recordMany(entries);
  } catch (err) {
    for (const audit of entries) by.log.error({ err, audit }, 'audit record not written');
  }
}

/**
 * auth.keys.report_leak: any authenticated caller may report a token it
 * found. The answer is the same whatever the token was, and a report that
 * ends no live secret counts as a failed guess of the caller (and of the
 * api_key the token named), so the method is no better an oracle than
 * presenting the token itself: one bit per try, within the same failure
 * limit, and under `revoke` a live secret dies by being asked about.
 * A local operator (the CLI; no token) is not counted.
 */
export const keysReportLeak = method({
  name: 'auth.keys.report_leak',
  // The url where it was found may hold it too: it is kept withheld (see withheld).
  secretParams: ['token', 'url'],
  summary: 'Report a leaked secret (a bare api_secret or api_key:api_secret); a live one is revoked or set to expire, by the leak policy.',
  roles: [],
  readOnly: false,
  async handler({ token, url }, ctx) {
    const { caller, services } = ctx;
    const counted = caller.apiKey !== null;
    // The same client name as auth.verify's token checks: one allowance of guesses per caller.
    const client = `caller ${caller.apiKey ?? caller.user}`;
    const limited = (wait: number) => new AppError('rate_limited', 'Too many failed token checks', { retry_after: wait });
    const waiting = counted ? services.auth.guessWait(client) : 0;
    if (waiting > 0) throw limited(waiting);
    const by: Reporter = { actor: caller.user, via: 'report_leak', address: ctx.address, requestId: ctx.requestId, log: ctx.log };
    const outcome = await reportLeak(services, { token, url }, by);
    if (counted && outcome.ended === null) {
      const wait = await services.auth.countGuess(client, outcome.named ?? null);
      if (wait > 0) throw limited(wait);
    }
    return { received: true as const };
  },
});
