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

export interface Services {
  storage: Storage;
  auth: Authenticator;
  metrics: Metrics;
  /** Limits from the configuration that methods enforce. */
  limits: { maxGraceSeconds: number };
  /** Rows each caller may read per second. */
  rowRate: RowRate;
}

/** Where a call came in: the label of its log line and its metrics. */
export type DoorName = 'jsonrpc' | 'rest' | 'metrics' | 'cli' | 'internal';

export interface CallContext {
  caller: Caller;
  door: DoorName;
  requestId: string;
  /** The client's address, for the audit log ('cli' for the command line). */
  address: string;
  log: Logger;
  services: Services;
}

export interface MethodSpec<P = any> {
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
  handler: (params: P, ctx: CallContext) => Promise<unknown>;
}

/** Keeps each handler's params type while the table holds them all. */
export function method<P>(spec: MethodSpec<P>): MethodSpec<P> {
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

export function callContext(
  caller: Caller,
  requestId: string,
  address: string,
  baseLog: Logger,
  services: Services,
  door: DoorName = 'internal',
): CallContext {
  return new Context(caller, requestId, address, baseLog, services, door);
}
