/**
 * Prometheus metrics (prom-client, the de facto Node client). One registry
 * per app rather than the global one, so several apps in one process (the
 * tests) never collide. Labels are bounded: method names come from the
 * method table only, outcomes and reasons from closed lists.
 */
import { Registry, Counter, Histogram, collectDefaultMetrics } from 'prom-client';

export type AuthFailure = 'missing' | 'malformed' | 'unknown_key' | 'wrong_secret' | 'expired' | 'disabled' | 'rate_limited';

export class Metrics {
  readonly registry = new Registry();
  readonly calls = new Counter({
    name: 'tokenauth_calls_total',
    help: 'Method calls by method, door (jsonrpc, rest, cli) and outcome (ok or an error kind).',
    labelNames: ['method', 'door', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly httpSeconds = new Histogram({
    name: 'tokenauth_http_request_duration_seconds',
    help: 'Time to answer an HTTP request on the JSON-RPC and REST doors (/rpc, /, /api/), token check included, by status. (One histogram per request, not per call: a per-method histogram cost a tenth of the hot path.)',
    labelNames: ['status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'tokenauth_auth_failures_total',
    help: 'Refused credentials by reason (never told to the caller).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly authCache = new Counter({
    name: 'tokenauth_auth_cache_total',
    help: 'Token cache lookups: hit or miss (a token the cache would refuse is read again, and counts as a miss).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly authDbLookups = new Counter({
    name: 'tokenauth_auth_db_lookups_total',
    help: 'Database lookups made by the token check.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tokenauth_' });
  }

  // Label children are looked up once and kept: prom-client hashes the label
  // object on every unbound inc() or observe(), a cost the hot path avoids.
  private readonly children = new Map<string, { inc(): void } | { observe(v: number): void }>();

  private child<T>(key: string, make: () => T): T {
    let c = this.children.get(key) as T | undefined;
    if (!c) this.children.set(key, (c = make()) as never);
    return c;
  }

  /** A counter for one method's calls on one door with one outcome, to keep and bump. */
  callCounter(method: string, door: string, outcome: string): { inc(): void } {
    return this.child(`${method}\0${door}\0${outcome}`, () => this.calls.labels(method, door, outcome));
  }

  httpRequest(status: number, seconds: number): void {
    this.child(`h\0${status}`, () => this.httpSeconds.labels(String(status))).observe(seconds);
  }

  authFailure(reason: AuthFailure): void {
    this.child(`f\0${reason}`, () => this.authFailures.labels(reason)).inc();
  }

  cache(result: 'hit' | 'miss'): void {
    this.cacheResults[result].inc();
  }
  private readonly cacheResults = {
    hit: this.authCache.labels('hit'),
    miss: this.authCache.labels('miss'),
  };
}
