/**
 * The JSON-RPC envelope around jayson: what the HTTP door hands jayson, and
 * how the replies are written. jayson serves one request object at a time;
 * this file owns the rest of JSON-RPC 2.0, where jayson departs from it or
 * where a service needs more:
 *
 * - A batch is walked here, one call after another, in order, so each call
 *   sees what the ones before it did (jayson runs a batch's calls at once),
 *   and within a budget: the rows its calls ask for, and the bytes of its
 *   answer. The call that would pass the budget, and every call after it,
 *   get `too_large` (-32013) instead.
 * - Replies are written here, with each id as the client wrote it: integer
 *   ids past 2^53 keep their digits (JSON.parse rounds them), and an invalid
 *   request whose id is valid gets that id back (jayson answers null).
 * - A request with `"id": null` is a request, not a notification (only a
 *   missing id makes one); jayson would stay silent for it.
 * - A batch element that is not an object gets its own -32600 reply (jayson
 *   skips those).
 */
import type jayson from 'jayson';
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors.js';
import { secretShaped } from '../auth/token.js';
import type { JsonRpcServer } from './jsonrpc.js';
import type { CallContext } from './spec.js';
import { encodedText } from './encoded.js';

export type Id = string | number | null;

/** The JSON-RPC error reply, for errors raised outside jayson. */
export function rpcError(id: Id, err: AppError) {
  return { jsonrpc: '2.0', id, error: err.toRpc() };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/**
 * A valid request without an id: the only kind that gets no reply (an
 * invalid one gets -32600 even without an id). jayson's test, for the
 * replies written without asking it: refusals, and calls past a budget.
 */
function isNotification(x: unknown): boolean {
  if (!isObject(x) || 'id' in x || x.jsonrpc !== '2.0' || typeof x.method !== 'string') return false;
  return x.params === undefined || (x.params !== null && typeof x.params === 'object');
}

// ---------------------------------------------------------------- parsing, ids

export interface Parsed {
  /** False: the body is not JSON. */
  ok: boolean;
  request: unknown;
  /**
   * The source text of integer ids that JSON.parse cannot hold exactly, by
   * position in the batch (0 for a single request); undefined when none.
   */
  exactIds: (string | undefined)[] | undefined;
}

/**
 * Node 20's JSON.parse gives no access to a number's source text, so ids are
 * recovered by a second, small scan of the body, done only when the body
 * holds a run of 16 or more digits (any integer up to 15 digits is exact as
 * a double): the hot path pays for one regular-expression test.
 */
const LONG_DIGITS = /\d{16}/;

export function parseRequest(body: string): Parsed {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    return { ok: false, request: undefined, exactIds: undefined };
  }
  return { ok: true, request, exactIds: LONG_DIGITS.test(body) ? exactIds(body) : undefined };
}

/** An id as JSON text: the client's own digits for an integer JSON.parse rounded; null for one holding a secret. */
function idText(request: Record<string, unknown>, exact: string | undefined): string {
  const { id } = request;
  if (typeof id === 'number') return exact ?? JSON.stringify(id);
  // An id holding a secret is never echoed (answers are kept by clients, proxies and browser
  // consoles; found by an outside attacker): callOne refuses its call, and any answer names it null.
  if (typeof id === 'string') return secretShaped(id) ? 'null' : JSON.stringify(id);
  return 'null'; // null, missing, or of a type no id may have
}

/** An integer literal whose value a double does not hold exactly (or prints otherwise). */
const LONG_INTEGER = /^-?\d{16,}$/;

/**
 * For a body that parsed: per top-level request (one, or each of a batch's),
 * the source text of its `id` when that is an integer JSON.parse rounds. A
 * scanner of already valid JSON, so it only has to find where values end;
 * loops, not recursion, so deep nesting cannot overflow the stack.
 */
function exactIds(text: string): (string | undefined)[] | undefined {
  const found: (string | undefined)[] = [];
  let i = 0;
  const space = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  /** Past a string starting at i; returns its value. */
  const string = (): string => {
    const start = i++;
    let escaped = false;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        escaped = true;
        i++;
      }
      i++;
    }
    i++;
    const raw = text.slice(start, i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  };
  const skipValue = () => {
    const c = text[i];
    if (c === '"') {
      string();
    } else if (c === '{' || c === '[') {
      let depth = 0;
      do {
        const ch = text[i];
        if (ch === '"') {
          string();
          continue;
        }
        if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') depth--;
        i++;
      } while (depth > 0 && i < text.length);
    } else {
      while (i < text.length && !',}] \t\n\r'.includes(text[i]!)) i++;
    }
  };
  /** Past an object starting at i; returns its id's source text when that needs keeping. */
  const objectId = (): string | undefined => {
    let exact: string | undefined;
    i++;
    for (space(); i < text.length && text[i] !== '}'; space()) {
      const key = string();
      space();
      i++; // :
      space();
      const start = i;
      skipValue();
      if (key === 'id') {
        // The last "id" counts, as it does for JSON.parse.
        const token = text.slice(start, i);
        exact = LONG_INTEGER.test(token) && JSON.stringify(Number(token)) !== token ? token : undefined;
      }
      space();
      if (text[i] === ',') i++;
    }
    i++;
    return exact;
  };

  space();
  if (text[i] === '{') {
    found[0] = objectId();
  } else if (text[i] === '[') {
    i++;
    for (let n = 0; ; n++) {
      space();
      if (i >= text.length || text[i] === ']') break;
      if (text[i] === '{') found[n] = objectId();
      else skipValue();
      space();
      if (text[i] === ',') i++;
    }
  }
  return found.some((x) => x !== undefined) ? found : undefined;
}

// ---------------------------------------------------------------- writing replies

/** A reply written by hand, so the id can be the client's own text. */
function reply(id: string, member: 'result' | 'error', valueText: string): string {
  return `{"jsonrpc":"2.0","id":${id},"${member}":${valueText}}`;
}

/** A result's reply, with its size when that comes for free (an encoded-once result). */
function resultReply(id: string, result: unknown): { text: string; bytes: number | undefined } {
  const once = result !== null && typeof result === 'object' ? encodedText(result) : undefined;
  if (once === undefined) return { text: reply(id, 'result', JSON.stringify(result ?? null)), bytes: undefined };
  const head = `{"jsonrpc":"2.0","id":${id},"result":`;
  return { text: `${head}${once.text}}`, bytes: Buffer.byteLength(head) + once.bytes + 1 };
}

const errorText = (err: AppError) => JSON.stringify(err.toRpc());
const INVALID = reply('null', 'error', errorText(new AppError('invalid_request')));
/** The answer to a call whose id holds a secret (see idText). */
const SECRET_ID = reply(
  'null',
  'error',
  errorText(new AppError('invalid_request', 'Invalid Request: the id holds an API secret, which is never repeated; the call was not run')),
);

// ---------------------------------------------------------------- calls

interface Answer {
  /** The reply as JSON text; undefined for a notification. */
  text: string | undefined;
  /** Its size in bytes, when known without measuring. */
  bytes?: number | undefined;
  /** The id as JSON text. */
  id: string;
}

/** One request, any value; `done` gets its reply. jayson never sees a batch. */
function callOne(server: JsonRpcServer, request: unknown, ctx: CallContext, exact: string | undefined, done: (answer: Answer) => void): void {
  if (!isObject(request)) return done({ text: INVALID, id: 'null' });
  if (typeof request.id === 'string' && secretShaped(request.id)) return done({ text: SECRET_ID, id: 'null' });
  const id = idText(request, exact);
  // jayson takes "id": null for a notification. Any stand-in id will do: the reply is written here, with the real one.
  const given = (request.id === null ? { ...request, id: 0 } : request) as unknown as jayson.JSONRPCRequestLike;
  server.jayson.call(given, ctx, (err: unknown, response: unknown) => {
    const r = (err ?? response) as { result?: unknown; error?: unknown } | undefined;
    if (r === undefined) return done({ text: undefined, id });
    if (r.error !== undefined) return done({ text: reply(id, 'error', JSON.stringify(r.error)), id });
    const { text, bytes } = resultReply(id, r.result);
    done({ text, bytes, id });
  });
}

/** The answer of a call that ran but whose reply does not fit in `maxResponseBytes`. */
function tooLarge(id: string, maxResponseBytes: number): string {
  return reply(id, 'error', errorText(new AppError('too_large', 'Response too large', { max_response_bytes: maxResponseBytes, ran: true })));
}

/**
 * A single request (not a batch): `done` gets the reply text and its size in
 * bytes, or undefined for a notification. An answer larger than
 * `maxResponseBytes` is replaced by a `too_large` error; measuring it costs
 * one Buffer.byteLength, which sending needs anyway (Content-Length).
 */
export function callSingle(
  server: JsonRpcServer,
  request: Record<string, unknown>,
  ctx: CallContext,
  exact: string | undefined,
  maxResponseBytes: number,
  done: (text: string | undefined, bytes: number) => void,
): void {
  callOne(server, request, ctx, exact, ({ text, bytes: known, id }) => {
    if (text === undefined) return done(undefined, 0);
    const bytes = known ?? Buffer.byteLength(text);
    if (bytes <= maxResponseBytes) return done(text, bytes);
    const refused = tooLarge(id, maxResponseBytes);
    done(refused, Buffer.byteLength(refused));
  });
}

export interface Budget {
  /** The most rows a batch may ask for: the sum of its calls' page sizes. */
  maxBatchRows: number;
  /** The most bytes its answers may take. */
  maxResponseBytes: number;
}

/**
 * How long a batch may hold the event loop before letting others in. Calls
 * that need no I/O (rpc.discover, refusals) complete in microtasks, so
 * without a pause a batch of them would run start to end while every other
 * request waits. The clock is read every 8 calls: reading it on every call
 * cost a tenth of a batch.
 */
const SLICE_MS = 2;

export interface BatchReply {
  text: string;
  bytes: number;
}

/**
 * A non-empty batch, its calls one after another in order; the reply text,
 * or undefined when no call has one (only notifications).
 *
 * The budget: before a call runs, its page size is added to the rows asked
 * for so far; after it runs, its reply's size to the bytes so far. The first
 * call that would take either past its limit is answered with `too_large`
 * (if it ran, its reply is dropped and the error says `ran: true`), and so is
 * every call after it, without running (notifications among them are not
 * run either). So a batch's answer never holds more than `maxResponseBytes`
 * of replies, plus a short error for each call past the budget.
 *
 * Written with callbacks rather than an await per call: on a batch of cheap
 * calls, a promise and a resumption per call are a large part of the cost.
 */
export function callBatch(
  server: JsonRpcServer,
  batch: unknown[],
  ctx: CallContext,
  exact: (string | undefined)[] | undefined,
  budget: Budget,
): Promise<BatchReply | undefined> {
  return new Promise((resolve) => {
    const parts: string[] = [];
    let rows = 0;
    let bytes = 1; // "[", then each reply with its "," or "]"
    let stop: string | undefined; // the error text of every call from here on
    let skipped = 0;
    let slice = performance.now();
    let i = 0;

    const push = (text: string) => {
      parts.push(text);
      bytes += Buffer.byteLength(text) + 1;
    };
    const accept = (answer: Answer) => {
      if (answer.text === undefined) return;
      const size = (answer.bytes ?? Buffer.byteLength(answer.text)) + 1;
      if (bytes + size > budget.maxResponseBytes) {
        // The answer so far plus this reply would not fit. The errors sent in
        // place of this and later replies are small, and always sent.
        push(tooLarge(answer.id, budget.maxResponseBytes));
        stop = errorText(new AppError('too_large', undefined, { max_response_bytes: budget.maxResponseBytes }));
        return;
      }
      bytes += size;
      parts.push(answer.text);
    };
    const finish = () => {
      if (stop !== undefined) {
        ctx.log.info({ outcome: 'too_large', not_run: skipped, calls: batch.length, rows, bytes }, 'batch over budget');
      }
      resolve(parts.length > 0 ? { text: `[${parts.join(',')}]`, bytes } : undefined);
    };
    const resume = () => {
      slice = performance.now();
      next();
    };
    const next = (): void => {
      while (i < batch.length) {
        if ((i & 7) === 7 && performance.now() - slice > SLICE_MS) {
          setImmediate(resume);
          return;
        }
        const index = i++;
        const request = batch[index];
        if (!isObject(request)) {
          push(INVALID); // no call to run, over budget or not
          continue;
        }
        if (stop === undefined) {
          const asked = server.rows(request);
          if (rows + asked > budget.maxBatchRows) {
            stop = errorText(new AppError('too_large', undefined, { max_batch_rows: budget.maxBatchRows }));
          }
          rows += asked;
        }
        if (stop !== undefined) {
          server.skipped(request, ctx, 'too_large');
          skipped++;
          if (!isNotification(request)) push(reply(idText(request, exact?.[index]), 'error', stop));
          continue;
        }
        // A call that answers at once (jayson refuses some requests without
        // running them) goes on in this loop; one that answers later goes on
        // from its callback. Either way the stack stays flat.
        let now: Answer | undefined;
        let waiting = false;
        callOne(server, request, ctx, exact?.[index], (answer) => {
          if (!waiting) return void (now = answer);
          accept(answer);
          next();
        });
        if (now === undefined) {
          waiting = true;
          return;
        }
        accept(now);
      }
      finish();
    };
    next();
  });
}

// ---------------------------------------------------------------- refusals

/**
 * The reply to a request refused as a whole before any call ran (the token
 * check failed, the client is rate limited, the database is down), as JSON
 * text. A batch gets an array like any batch: the error once per element
 * that would have had a reply (every one but the notifications), in order,
 * with its id; a batch of only notifications gets no body (undefined), as
 * when it is served (204): the HTTP status and headers say it all. A single
 * request, a body that is not JSON, an empty batch, and a batch over
 * `maxBatch` (whose array of errors would let anyone without a token
 * multiply their bytes) get one error.
 */
export function refusalText(parsed: Parsed, err: AppError, maxBatch: number): string | undefined {
  const error = errorText(err);
  const { request, exactIds: exact } = parsed;
  if (!Array.isArray(request)) return reply(isObject(request) ? idText(request, exact?.[0]) : 'null', 'error', error);
  if (request.length === 0 || request.length > maxBatch) return reply('null', 'error', error);
  const parts: string[] = [];
  request.forEach((r, i) => {
    if (!isNotification(r)) parts.push(reply(isObject(r) ? idText(r, exact?.[i]) : 'null', 'error', error));
  });
  return parts.length > 0 ? `[${parts.join(',')}]` : undefined;
}
