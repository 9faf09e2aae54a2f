/**
 * The types every door and every method share: what a method declares, and
 * the one context object the token check builds and each handler receives.
 */
import type { Logger } from '../log.js';
import type { Caller, Authenticator } from '../auth/verify.js';
import type { Storage } from '../store/storage.js';
import type { Metrics } from '../metrics.js';

export interface Services {
  storage: Storage;
  auth: Authenticator;
  metrics: Metrics;
}

export interface CallContext {
  caller: Caller;
  requestId: string;
  log: Logger;
  services: Services;
}

export interface MethodSpec<P = any> {
  /** Dotted name; its schemas are schemas/<name>.params.json and .result.json. */
  name: string;
  summary: string;
  /** The caller needs one of these roles; empty means any authenticated caller. */
  roles: readonly string[];
  handler: (params: P, ctx: CallContext) => Promise<unknown>;
}

/** Keeps each handler's params type while the table holds them all. */
export function method<P>(spec: MethodSpec<P>): MethodSpec<P> {
  return spec;
}
