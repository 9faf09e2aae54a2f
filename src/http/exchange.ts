/**
 * One HTTP request on its way through the service: what the steps of the
 * pipeline (pipeline.ts) learn about it, in one typed object, and the only
 * way anything writes its response. Every response carries the security
 * headers, the request id, the CORS headers when the origin was allowed, and
 * is timed into the latency histogram when the request went through the
 * pipeline. Kept allocation-light: the JSON-RPC door builds one per request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { statusOf, type AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Caller } from '../auth/verify.js';
import type { CallContext, DoorName } from '../rpc/spec.js';
import type { Parsed } from '../rpc/envelope.js';
import { writeSoon } from './flush.js';
import { SECURITY_HEADERS } from './headers.js';
import { clientAddress } from './client-address.js';
import { clientGroup, type Ranges } from '../ip.js';
import { secretShaped } from '../auth/token.js';

/**
 * Where a request is answered: each door names itself (the label of its
 * calls' logs and metrics), says whether it reads a body, shapes a refused
 * request's error body, and serves a request the pipeline let through.
 */
export interface Door {
  readonly name: DoorName;
  readonly readsBody: boolean;
  /** Its own body limit, when smaller than MAX_BODY_BYTES (a door anyone may call without a token). */
  readonly maxBodyBytes?: number;
  /** The error body of a request refused before any call ran; undefined: none (the status says it all). */
  errorBody(x: Exchange, err: AppError): unknown;
  /** The HTTP status of such a refusal (Frappe's where they differ). */
  status(err: AppError): number;
  serve(x: Exchange): void | Promise<void>;
}

/** A Frappe REST route (rest.ts): what the path names and the verbs it answers. */
export type Route =
  /** `cmd`: the name is the request's cmd param (an old client's request to /), not the path's. */
  { kind: 'method'; name: string; cmd?: true } | { kind: 'collection'; doctype: string } | { kind: 'document'; doctype: string; name: string };

// A flat [name, value, ...] list: writeHead() takes it without building a
// header object first, which on the hot path is worth it.
const JSON_HEADERS = Object.entries({ ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' }).flat();
const EMPTY_HEADERS = Object.entries(SECURITY_HEADERS).flat();
const NONE: readonly string[] = [];
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/**
 * A request id made here is shaped like a UUID: 24 characters drawn once
 * per process, then a counter. Unique across instances as a random UUID
 * would be (80 random bits), at a tenth of randomUUID's cost per request.
 */
const ID_PREFIX = randomBytes(10)
  .toString('hex')
  .replace(/^(.{8})(.{4})(.{4})(.{4})$/, '$1-$2-$3-$4-');
let idCounter = 0;
const newRequestId = () => ID_PREFIX + (idCounter++).toString(16).padStart(12, '0');

/** Before routing, or a path no door serves: a plain {"error": message} body. */
const NOWHERE: Door = {
  name: 'internal',
  readsBody: false,
  errorBody: (_x, err) => ({ error: err.message }),
  status: (err) => statusOf(err.kind),
  // Never served: the route step sends every request it lets through to a door.
  serve: () => undefined,
};

/** A body already encoded as JSON (the JSON-RPC door writes its own envelopes, to echo ids exactly). */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * The CORS headers of every response to an allowed origin, preflights
 * included. Without Expose-Headers a browser script could not read the
 * request id or how long to wait after a 429; without Allow-Credentials a
 * client that sends withCredentials (frappe-js-sdk) could read nothing
 * (see steps/cors.ts for why that is safe for listed origins only).
 */
function pushCors(headers: string[], origin: string): void {
  headers.push(
    'Access-Control-Allow-Origin',
    origin,
    'Access-Control-Allow-Credentials',
    'true',
    'Vary',
    'Origin',
    'Access-Control-Expose-Headers',
    'X-Request-Id, Retry-After, RateLimit, RateLimit-Policy',
  );
}

export class Exchange {
  /** The client's X-Request-Id when it is safe to echo, else a new one. */
  readonly id: string;
  /** req.url up to its `?`, and what follows it ('' when nothing does). */
  readonly path: string;
  readonly query: string;
  /** When the request began (performance.now()): for the histogram, and the tarpit's clock. */
  readonly started = performance.now();
  /** Counted in the latency histogram (requests that enter the pipeline). */
  timed = false;

  // Learnt by the steps, in their order:
  /** route: where the request is answered, and the verbs it answers there. */
  door: Door = NOWHERE;
  allow: readonly string[] = NONE;
  /** route: on the REST door, what the path names. */
  route: Route | undefined;
  /** cors: the request's origin, when it is allowed (its answer then carries the CORS headers). */
  origin: string | undefined;
  /** body: the request body as UTF-8 text, and as received (a signature covers the bytes). */
  body = '';
  bytes: Buffer | undefined;
  /** envelope: the JSON-RPC request, parsed once. */
  parsed: Parsed | undefined;
  /** envelope: how many calls the token check is charged for (a batch's length). */
  weight = 1;
  /** credentials: who is calling. */
  caller!: Caller;
  /** context: what every method receives. */
  ctx!: CallContext;
  /** Headers a step adds to the answer (key limits: the RateLimit fields), as a flat [name, value, ...] list. */
  headers: readonly string[] = NONE;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly log: Logger,
    private readonly metrics: Metrics,
    /** TRUSTED_PROXIES; null: the socket's peer is the client. */
    private readonly trustedProxies: Ranges | null = null,
  ) {
    const header = req.headers['x-request-id'];
    // A client's id is echoed, logged and audited, so one holding a secret (tas_..., TAS_..., or the
    // bare body: found by an outside attacker) is replaced like a malformed one (a short id costs secretShaped one comparison).
    this.id = typeof header === 'string' && REQUEST_ID.test(header) && !secretShaped(header) ? header : newRequestId();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
    this.query = q < 0 ? '' : url.slice(q + 1);
  }

  private client: string | undefined;

  /**
   * The client's address (client-address.ts): what its key's IP allowlist,
   * the per-client limits and the audit log know it by. Worked out once.
   */
  get address(): string {
    return (this.client ??= clientAddress(this.req, this.trustedProxies));
  }

  private group: string | undefined;

  /** Who the per-client limits count: the address, or an IPv6 client's /64 (ip.ts clientGroup). Worked out once. */
  get limitKey(): string {
    return (this.group ??= clientGroup(this.address));
  }

  /** JSON text as it is; `bytes` is its UTF-8 length when the caller measured it already. */
  text(status: number, text: string, bytes = Buffer.byteLength(text)): void {
    this.count(status);
    writeSoon(() => {
      const headers = [...JSON_HEADERS, 'X-Request-Id', this.id, 'Content-Length', String(bytes), ...this.headers];
      if (this.origin !== undefined) pushCors(headers, this.origin);
      this.res.writeHead(status, headers);
      this.res.end(text);
    });
  }

  json(status: number, body: unknown): void {
    this.text(status, body instanceof JsonText ? body.text : JSON.stringify(body));
  }

  /** A response without a body, with `extra` headers as a flat list. */
  empty(status: number, extra: readonly string[] = NONE): void {
    this.count(status);
    writeSoon(() => {
      const headers = [...EMPTY_HEADERS, 'X-Request-Id', this.id, ...extra, ...this.headers];
      if (this.origin !== undefined) pushCors(headers, this.origin);
      this.res.writeHead(status, headers).end();
    });
  }

  /**
   * Answers a request refused before or instead of its calls, in its door's
   * shape, with the status the error registry gives (and Retry-After when
   * the error says how long to wait). A response already begun is cut.
   */
  fail(err: AppError): void {
    if (this.res.headersSent) return void this.res.destroy();
    const wait = (err.data as { retry_after?: unknown } | undefined)?.retry_after;
    if (typeof wait === 'number') this.res.setHeader('Retry-After', String(wait));
    const status = this.door.status(err);
    const body = this.door.errorBody(this, err);
    if (body === undefined) this.empty(status, ['Content-Length', '0']);
    else this.json(status, body);
  }

  private count(status: number): void {
    if (this.timed) this.metrics.httpRequest(status, (performance.now() - this.started) / 1000);
  }
}

/**
 * One step of the pipeline: true to go on, false once it has answered the
 * request itself (or the client is gone). A step that refuses may also throw
 * an AppError, which the pipeline answers in the door's shape.
 */
export type Step = (x: Exchange) => boolean | Promise<boolean>;
