/**
 * Prometheus metrics (prom-client, the de facto Node client). One registry
 * per app rather than the global one, so several apps in one process (the
 * tests) never collide. Labels are bounded: method names come from the
 * method table only, outcomes and reasons from closed lists.
 *
 * What every request bumps (its call, its cache result, its latency) is
 * counted in plain numbers and handed to prom-client when /metrics is read:
 * prom-client's own inc() and observe() cost 1.5 µs a request, a twentieth
 * of the whole hot path. The rarer counters use prom-client directly.
 */
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics, type Metric } from 'prom-client';

export type AuthFailure = 'missing' | 'malformed' | 'unknown_key' | 'wrong_secret' | 'expired' | 'disabled' | 'rate_limited';

/** A count kept as a plain number, for one set of labels. */
class Tally {
  n = 0;
  constructor(readonly labels: Record<string, string>) {}
  inc(): void {
    this.n++;
  }
}

/** A counter whose counts are tallies, read into prom-client at each scrape. */
function tallied(registry: Registry, name: string, help: string, labelNames: readonly string[], tallies: ReadonlyMap<string, Tally>): Counter {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      for (const t of tallies.values()) this.inc(t.labels, t.n);
    },
  });
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** One status's latencies: a count per bucket (not cumulative), their sum and count. */
interface Latencies {
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * The HTTP latency histogram, kept as arrays and written in prom-client's
 * histogram form when scraped (a Metric of our own: prom-client's Histogram
 * cannot be handed counts made elsewhere).
 */
class LatencyHistogram {
  readonly name = 'tokenauth_http_request_duration_seconds';
  readonly help =
    'Time to answer an HTTP request on the doors (JSON-RPC on /rpc and /, Frappe REST under /api/, /metrics), token check included, by status. (One histogram per request, not per call: a per-method histogram cost a tenth of the hot path.)';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly byStatus = new Map<number, Latencies>();

  observe(status: number, seconds: number): void {
    let l = this.byStatus.get(status);
    if (l === undefined) this.byStatus.set(status, (l = { buckets: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 }));
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    l.buckets[i]!++;
    l.sum += seconds;
    l.count++;
  }

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [status, l] of this.byStatus) {
      let cumulative = 0;
      for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
        cumulative += l.buckets[i]!;
        const le = i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i]! : '+Inf';
        values.push({ labels: { le, status: String(status) }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { status: String(status) }, value: l.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { status: String(status) }, value: l.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.byStatus.clear();
  }
}

export class Metrics {
  readonly registry = new Registry();
  private readonly callTallies = new Map<string, Tally>();
  private readonly cacheTallies = new Map([
    ['hit', new Tally({ result: 'hit' })],
    ['miss', new Tally({ result: 'miss' })],
  ]);
  readonly calls = tallied(
    this.registry,
    'tokenauth_calls_total',
    'Method calls by method, door (jsonrpc, rest, cli) and outcome (ok or an error kind).',
    ['method', 'door', 'outcome'],
    this.callTallies,
  );
  readonly authCache = tallied(
    this.registry,
    'tokenauth_auth_cache_total',
    'Token cache lookups: hit or miss (a token the cache would refuse is read again, and counts as a miss).',
    ['result'],
    this.cacheTallies,
  );
  readonly httpSeconds = new LatencyHistogram();
  readonly authFailures = new Counter({
    name: 'tokenauth_auth_failures_total',
    help: 'Refused credentials by reason (never told to the caller).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly authDbLookups = new Counter({
    name: 'tokenauth_auth_db_lookups_total',
    help: 'Database lookups made by the token check.',
    registers: [this.registry],
  });

  /** Which way this instance follows changes made elsewhere, and whether it can right now (event-feed.ts). */
  private readonly keyEventsFeedUp = new Gauge({
    name: 'tokenauth_key_events_feed_up',
    help: '1 while this instance follows key_events (changes made by other instances) with the mode labelled; 0 while it cannot, and so reads again any cached token older than KEY_EVENTS_STALE_MS.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  private readonly propagation = new Histogram({
    name: 'tokenauth_revocation_propagation_seconds',
    help: "Time from a change event's write (the database server's clock) to its arrival at this instance (this instance's clock), per event received: how long other instances take to drop a changed credential. A skew between the two clocks shifts every value by as much (a value below 0 counts as 0); every instance counts its own events too, as they reach it the same way.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
    registers: [this.registry],
  });

  constructor() {
    this.registry.registerMetric(this.httpSeconds as unknown as Metric);
    collectDefaultMetrics({ register: this.registry, prefix: 'tokenauth_' });
  }

  /** A counter for one method's calls on one door with one outcome, to keep and bump. */
  callCounter(method: string, door: string, outcome: string): { inc(): void } {
    const key = `${method}\0${door}\0${outcome}`;
    let t = this.callTallies.get(key);
    if (t === undefined) this.callTallies.set(key, (t = new Tally({ method, door, outcome })));
    return t;
  }

  httpRequest(status: number, seconds: number): void {
    this.httpSeconds.observe(status, seconds);
  }

  authFailure(reason: AuthFailure): void {
    this.authFailures.labels(reason).inc();
  }

  cache(result: 'hit' | 'miss'): void {
    this.cacheTallies.get(result)!.inc();
  }

  /** The change feed's mode and state (one series: the mode in use). */
  keyEventsFeed(mode: string, up: boolean): void {
    this.keyEventsFeedUp.reset();
    this.keyEventsFeedUp.labels(mode).set(up ? 1 : 0);
  }

  /** A change event arrived `seconds` after it was written (clamped at 0: a negative value is clock skew). */
  eventPropagation(seconds: number): void {
    this.propagation.observe(Math.max(0, seconds));
  }
}
