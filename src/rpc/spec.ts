/**
 * The types every door and every method share: what a method declares, and
 * the one context object the token check builds and each handler receives.
 */
import type { Logger } from '../log.js';
import type { Caller, Authenticator } from '../auth/verify.js';
import type { Storage } from '../store/storage.js';
import type { Metrics } from '../metrics.js';
import type { ErrorKind } from '../errors.js';
import type { RowRate } from './row-rate.js';
import type { MethodTypes } from './schema-types.js';
import type { LeakPolicy } from '../config.js';

export interface Services {
  storage: Storage;
  auth: Authenticator;
  metrics: Metrics;
  /** Limits from the configuration that methods enforce. */
  limits: { maxGraceSeconds: number };
  /** Rows each caller may read per second. */
  rowRate: RowRate;
  /** What a reported leak does (LEAK_POLICY, LEAK_GRACE_SECONDS): methods/leaks.ts. */
  leaks: { policy: LeakPolicy; graceSeconds: number };
}

/** Where a call came in: the label of its log line and its metrics. */
export type DoorName = 'jsonrpc' | 'rest' | 'metrics' | 'secret_scanning' | 'cli' | 'internal';

export interface CallContext {
  caller: Caller;
  door: DoorName;
  requestId: string;
  /** The client's address, for the audit log ('cli' for the command line). */
  address: string;
  log: Logger;
  services: Services;
}

/**
 * What the table holds: any method, its params and result types unknown to
 * the doors (the dispatcher validates params against the schema at run time).
 * Each file in methods/ declares its method with `method(...)` below, which
 * types its handler by its schemas.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the table's one erasure point: any P, so every DeclaredMethod fits (handler params are contravariant); the dispatcher validates params against the schema first
export interface MethodSpec<P = any, R = unknown> {
  /** Dotted name; its schemas are schemas/<name>.params.json and .result.json. */
  name: string;
  summary: string;
  /** The caller needs one of these roles; empty means any authenticated caller. */
  roles: readonly string[];
  /** Changes nothing. Successful read-only calls are logged at debug, all else at info. */
  readOnly: boolean;
  /**
   * Errors this method raises itself, beyond those every call can meet
   * (authentication, permission, params, rate limit, storage); for discovery.
   */
  errors?: readonly ErrorKind[];
  /** Credits a call spends from a key that has them (docs/limits.md); default 1. */
  cost?: number;
  /** Params that may hold an API secret (a token to check or report); in any other, one is refused (rpc/secret-params.ts). */
  secretParams?: readonly string[];
  handler: (params: P, ctx: CallContext) => Promise<R>;
}

/** Every method that has schemas in schemas/ (the generated MethodTypes). */
export type MethodName = keyof MethodTypes;
/** A method's params, as its params schema admits them (after validation, what the handler gets). */
export type ParamsOf<N extends MethodName> = MethodTypes[N]['params'];
/** A method's result, as its result schema admits it. */
export type ResultOf<N extends MethodName> = MethodTypes[N]['result'];

/**
 * What a handler may return for result type T: T, except that arrays may be
 * readonly (a result is only serialised), and an object the schema leaves
 * open (`[k: string]: unknown`) need not say so (an interface has no index
 * signature, and any properties are allowed there anyway).
 */
export type Returnable<T> = T extends readonly (infer U)[]
  ? readonly Returnable<U>[]
  : T extends object
    ? { readonly [K in keyof T as string extends K ? (unknown extends T[K] ? never : K) : K]: Returnable<T[K]> }
    : T;

/** A method declared with `method(...)`: its name, its handler's params and what the handler returns. */
export interface DeclaredMethod<N extends MethodName, R> extends MethodSpec<ParamsOf<N>, R> {
  name: N;
}

/**
 * Declares a method, typed by its schemas: `params` is the type of
 * schemas/<name>.params.json, and the handler's result must be assignable to
 * that of <name>.result.json, so a schema change a handler does not follow
 * fails tsc (src/rpc/schema-types.ts is generated from the schemas). The
 * declared method keeps the handler's own result type (R), for the methods
 * that call another's handler.
 */
export function method<N extends MethodName, R extends Returnable<ResultOf<N>>>(spec: DeclaredMethod<N, R>): DeclaredMethod<N, R> {
  return spec;
}

/**
 * A call's context. Its logger is made on first use: creating a pino child
 * on every request cost a tenth of the hot path, and most calls never log
 * from inside their handler. (A class, so every context shares one shape.)
 */
class Context implements CallContext {
  private child: Logger | undefined;
  constructor(
    readonly caller: Caller,
    readonly requestId: string,
    readonly address: string,
    private readonly baseLog: Logger,
    readonly services: Services,
    readonly door: DoorName,
  ) {}

  get log(): Logger {
    return (this.child ??= this.baseLog.child({ req_id: this.requestId, user: this.caller.user }));
  }
}

export function callContext(caller: Caller, requestId: string, address: string, baseLog: Logger, services: Services, door: DoorName = 'internal'): CallContext {
  return new Context(caller, requestId, address, baseLog, services, door);
}
