/**
 * POST /api/secret-scanning/github: GitHub's secret scanning partner
 * program reports tokens of our format found in public places (see
 * docs/api.md#leaked-secrets). No API token here: the request is GitHub's,
 * proved by an ECDSA P-256 signature over the raw body
 * (Github-Public-Key-Identifier, Github-Public-Key-Signature) checked
 * against the keys the operator configured (auth/scanning-keys.ts).
 *
 * Anyone can send to it, so it is cheap to refuse, in this order:
 *   1. a client over its failure limit: 429 after the tarpit, body unread;
 *   2. no signature headers, or a key nobody configured: 401, body unread;
 *   3. the body, at most SECRET_SCANNING_MAX_BODY_BYTES (413);
 *   4. a signature that does not fit the raw bytes: 401, nothing parsed;
 * each refusal of 2 and 4 counted against the client like a wrong token,
 * so a flood turns into tarpitted 429s that starve no one else. Only a
 * signed body is parsed: a JSON array of {token, type, url, source}, at
 * most SECRET_SCANNING_MAX_TOKENS entries, all well formed or none is
 * acted on (400, nothing changes). The answer is GitHub's feedback array:
 * [{token_hash, token_type, label}], token_hash the SHA-256 of the token.
 */
import { AppError, statusOf, type ParamProblem } from '../../errors.js';
import type { Services } from '../../rpc/spec.js';
import { ScanningKeys } from '../../auth/scanning-keys.js';
import { reportLeaks, tokenHash, type LeakReport, type Reporter } from '../../methods/leaks.js';
import { tarpit } from '../steps/credentials.js';
import type { Door, Exchange } from '../exchange.js';

export const SECRET_SCANNING_PATH = '/api/secret-scanning/github';
/** The audit entries' actor. */
export const SCANNER = 'GitHub secret scanning';

const UNSIGNED = 'Authentication failed: send a report signed with a key of GitHub secret scanning';
const MAX_TOKEN = 512;
const MAX_TYPE = 200;
const MAX_URL = 4096;
/** Problems listed in a refusal, at most: the first say enough. */
const MAX_PROBLEMS = 20;

export interface SecretScanningDoor extends Door {
  /** Before the body is read: false once it has answered (refused) the request. */
  admit(x: Exchange): Promise<boolean>;
}

export interface SecretScanningLimits {
  maxBodyBytes: number;
  maxTokens: number;
}

interface Entry extends LeakReport {
  type: string;
}

function header(x: Exchange, name: string): string | undefined {
  const value = x.req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

export function secretScanningDoor(keys: ScanningKeys, services: Services, limits: SecretScanningLimits): SecretScanningDoor {
  const { auth } = services;

  /** A refusal counted as a failed guess of the client: 401, or past its limit a tarpitted 429. */
  const refuse = async (x: Exchange, reason: string): Promise<false> => {
    x.log.info({ req_id: x.id, outcome: 'authentication_failed', reason, client: x.address }, 'secret-scanning report refused');
    const wait = await auth.countGuess(x.limitKey, null);
    if (wait > 0) tarpit(x, wait);
    else x.fail(new AppError('authentication_failed', UNSIGNED));
    return false;
  };

  return {
    name: 'secret_scanning',
    readsBody: true,
    maxBodyBytes: limits.maxBodyBytes,
    status: (err) => statusOf(err.kind),
    errorBody: (_x, err) => ({ error: err.message, ...(err.data === undefined ? {} : { data: err.data }) }),

    async admit(x) {
      const wait = auth.guessWait(x.limitKey);
      if (wait > 0) {
        x.log.info({ req_id: x.id, outcome: 'rate_limited', client: x.address }, 'secret-scanning report refused');
        tarpit(x, wait);
        return false;
      }
      const id = header(x, 'github-public-key-identifier');
      if (!ScanningKeys.wellFormed(id, header(x, 'github-public-key-signature'))) return refuse(x, 'unsigned');
      if (!(await keys.find(id!))) return refuse(x, 'unknown_key');
      return true;
    },

    async serve(x) {
      const key = keys.get(header(x, 'github-public-key-identifier')!);
      if (!key || !ScanningKeys.verify(key, x.bytes ?? Buffer.alloc(0), header(x, 'github-public-key-signature')!)) {
        await refuse(x, 'bad_signature');
        return;
      }
      const entries = readReport(x.body, limits.maxTokens);
      const by: Reporter = { actor: SCANNER, via: 'github', address: x.address, requestId: x.id, log: x.log };
      const outcomes = await reportLeaks(services, entries, by);
      x.json(
        200,
        entries.map((e) => ({ token_hash: tokenHash(e.token), token_type: e.type, label: outcomes.get(e.token)!.label })),
      );
    },
  };
}

/** The signed body -> its entries, or a refusal naming what is wrong (nothing is acted on). */
export function readReport(body: string, maxTokens: number): Entry[] {
  let report: unknown;
  try {
    report = JSON.parse(body);
  } catch {
    throw new AppError('parse_error', 'Parse error: the report is not JSON');
  }
  if (!Array.isArray(report)) throw new AppError('invalid_request', 'The report must be a JSON array of {token, type, url, source}');
  if (report.length > maxTokens) {
    throw new AppError('too_large', `A report may hold at most ${maxTokens} tokens`, { max_tokens: maxTokens });
  }
  const problems: ParamProblem[] = [];
  const entries: Entry[] = [];
  const text = (i: number, e: Record<string, unknown>, name: string, max: number, required: boolean): string | undefined => {
    const v = e[name];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > max) {
      problems.push({ path: `/${i}/${name}`, message: `must be a string of 1 to ${max} characters` });
      return undefined;
    }
    return v;
  };
  report.forEach((raw: unknown, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push({ path: `/${i}`, message: 'must be an object {token, type, url, source}' });
      return;
    }
    const e = raw as Record<string, unknown>;
    const token = text(i, e, 'token', MAX_TOKEN, true);
    const type = text(i, e, 'type', MAX_TYPE, true);
    const url = text(i, e, 'url', MAX_URL, false);
    const source = text(i, e, 'source', MAX_TYPE, false);
    if (token !== undefined && type !== undefined) entries.push({ token, type, url, source });
  });
  if (problems.length > 0) throw new AppError('invalid_request', 'Invalid report: nothing was acted on', problems.slice(0, MAX_PROBLEMS));
  return entries;
}
