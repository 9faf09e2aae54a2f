/**
 * Per-key rate limits and credits, exact across instances without a
 * database round trip per call (the design and its bounds: docs/limits.md).
 *
 * Each instance spends from LEASES: it takes a share of a key's credits, or
 * of a rate limit's current window, with one atomic update of the key's
 * document (store/key-limits.ts), then admits calls from that share in
 * memory. When a share runs low it takes the next one in the background, so
 * a call waits on the database only for the first lease of a window or
 * period, or when a key is nearly spent. A share unused for IDLE_MS goes
 * back. Shares grow while they go fast (up to MAX_LEASE) and shrink while
 * they go slowly, and never exceed an eighth of what is left unless the
 * call needs more, so the last credits of a key are spread out, not held.
 *
 * Exactness: a lease can only take what the document holds when the write
 * applies, and an instance spends a lease only for the window or refill
 * period (and credits generation) it was taken from. So the calls admitted
 * in all never exceed the credits, nor a window's limit.
 *
 * A call is admitted whole or not at all: every limit must have room for it
 * (a batch of n calls counts n against each rate limit, and the sum of its
 * calls' costs against the credits) before any of them is charged, so a
 * refused call spends nothing.
 */
import { AppError } from '../errors.js';
import { creditsNow, periodEnd, periodOf, type KeyLeases, type KeyLimits, type RateLimitRule, type Refill } from '../store/key-limits.js';

/** What a request asks of a key: how many calls, and what they cost in credits. */
export interface Charge {
  calls: number;
  cost: number;
}

/** One rate limit as the caller is told of it. */
export interface RateState {
  name: string;
  limit: number;
  durationMs: number;
  remaining: number;
  /** When the current window ends (ms). */
  resetAt: number;
}

export interface LimitSnapshot {
  /** null: the key has no credits. */
  credits: number | null;
  ratelimits: RateState[];
}

/** Lease sizes: the first lease of a bucket, and the most one instance takes at once. */
const FIRST_LEASE = 8;
const MAX_LEASE = 5000;
/** A lease spent within this grows the next (doubles); one that lasts longer than SLOW_MS shrinks it. */
const FAST_MS = 1000;
const SLOW_MS = 10_000;
/** A share unused this long goes back to the document, for other instances. */
export const IDLE_MS = 2000;
/** After the database had nothing left, refuse locally this long before asking again (or until the window or period ends). */
const EMPTY_RECHECK_MS = 250;
/** A key not used this long (and holding nothing) is forgotten. */
const FORGET_MS = 60_000;
/**
 * Rounds of "lease, then look again" one call may wait for. Each lease
 * covers every call waiting when it is asked for, so a call needs another
 * round only when calls that came later took the share first; past this, it
 * is answered busy (503), never "over the limit": the limit was not reached.
 */
const MAX_ROUNDS = 32;

/**
 * What an admitted request's answer says of the key's tightest rate limit:
 * the draft's RateLimit-Policy field (fixed for the limit, made once) and
 * its RateLimit field now.
 */
export interface RateAdvice {
  readonly policy: string;
  field(now: number): string;
}

/** A share of one limit held by this instance. */
abstract class Bucket {
  /** Leased, not yet spent. */
  have = 0;
  /** What the document had left after our last lease (others may have taken some since). */
  known = 0;
  /** The window or refill period the share belongs to. */
  tag = -1;
  size = FIRST_LEASE;
  grantedAt = 0;
  lastUsed = 0;
  emptyUntil = 0;
  pending: Promise<void> | undefined;
  /** What the calls waiting on this bucket need in all: the next lease covers them. */
  demand = 0;

  /** The window or period `now` falls in. */
  abstract current(now: number): number;
  /** When the window or period `tag` ends. */
  abstract endOf(tag: number): number;
  abstract need(charge: Charge): number;
  abstract lease(want: number, least: number, tag: number): Promise<{ granted: number; known: number; tag: number } | null>;
  abstract giveBack(n: number): Promise<void>;
  abstract refusal(charge: Charge, now: number): AppError;

  /** Drops a share of a window or period that is over (it is not returned: it no longer counts anywhere). */
  roll(now: number): void {
    const cur = this.current(now);
    if (cur > this.tag) {
      this.have = 0;
      this.tag = cur;
      this.emptyUntil = 0;
    }
  }

  /** What this instance believes is left: its share and the document's rest as last seen. */
  left(): number {
    return this.have + this.known;
  }

  /** Takes a lease so that at least `least` more is held (shared by the calls waiting on this bucket). */
  fill(least: number, now: number): Promise<void> {
    if (this.pending) return this.pending;
    // Adapt: a share spent fast grows the next, one that lasted shrinks it.
    const lasted = now - this.grantedAt;
    if (this.grantedAt > 0 && lasted < FAST_MS) this.size = Math.min(MAX_LEASE, this.size * 2);
    else if (lasted > SLOW_MS) this.size = Math.max(1, Math.floor(this.size / 2));
    const want = Math.max(this.size, least, this.demand);
    const tag = this.current(now);
    const run = async () => {
      const got = await this.lease(want, least, tag);
      if (got === null) {
        // The key, or its credits, are gone: refuse until a new record says otherwise.
        this.known = 0;
        this.emptyUntil = Date.now() + EMPTY_RECHECK_MS;
        return;
      }
      if (got.tag < this.tag) return; // a share of a window that ended while we waited: it counts nowhere now
      if (got.tag > this.tag) {
        this.have = 0;
        this.tag = got.tag;
      }
      this.have += got.granted;
      this.known = got.known;
      this.grantedAt = Date.now();
      if (got.granted < least) this.emptyUntil = Math.min(Date.now() + EMPTY_RECHECK_MS, this.endOf(got.tag));
    };
    const pending = run().finally(() => (this.pending = undefined));
    this.pending = pending;
    return pending;
  }
}

class RateBucket extends Bucket implements RateAdvice {
  readonly policy: string;
  /** The limit's name as a Structured Fields String ([A-Za-z0-9_-]: JSON writes a valid one). */
  private readonly quoted: string;

  constructor(
    private readonly leases: KeyLeases,
    private readonly apiKey: string,
    readonly rule: RateLimitRule,
  ) {
    super();
    this.quoted = JSON.stringify(rule.name);
    // q: the quota; w: the window in seconds, at least 1.
    this.policy = `${this.quoted};q=${rule.limit};w=${Math.max(1, Math.ceil(rule.duration_ms / 1000))}`;
  }
  /** r: calls left; t: seconds until the window resets. */
  field(now: number): string {
    const cur = this.current(now);
    return `${this.quoted};r=${this.remaining(cur)};t=${Math.max(0, Math.ceil((this.endOf(cur) - now) / 1000))}`;
  }
  /** Before this instance's first lease of the window, it knows of no use in it. */
  private remaining(cur: number): number {
    return cur === this.tag && this.grantedAt > 0 ? Math.min(this.rule.limit, this.left()) : this.rule.limit;
  }
  current(now: number): number {
    return Math.floor(now / this.rule.duration_ms);
  }
  endOf(tag: number): number {
    return (tag + 1) * this.rule.duration_ms;
  }
  need(charge: Charge): number {
    return charge.calls;
  }
  async lease(want: number, least: number, tag: number) {
    const got = await this.leases.leaseRate(this.apiKey, this.rule, want, least, tag);
    return got && { granted: got.granted, known: got.remaining, tag };
  }
  giveBack(n: number): Promise<void> {
    return this.leases.returnRate(this.apiKey, this.rule, n, this.tag);
  }
  state(now: number): RateState {
    const { name, limit, duration_ms } = this.rule;
    const cur = this.current(now);
    return { name, limit, durationMs: duration_ms, remaining: this.remaining(cur), resetAt: this.endOf(cur) };
  }
  refusal(charge: Charge, now: number): AppError {
    const { name, limit, duration_ms } = this.rule;
    const resetAt = this.endOf(this.current(now));
    const remaining = Math.min(limit, this.left());
    const why = charge.calls > limit ? `a request of ${charge.calls} calls exceeds it` : 'try again after reset_at';
    return new AppError('rate_limited', `Rate limit ${name} exceeded: ${limit} calls per ${duration_ms} ms; ${why}`, {
      name,
      limit,
      remaining,
      reset_at: new Date(resetAt).toISOString(),
      retry_after: Math.max(1, Math.ceil((resetAt - now) / 1000)),
    });
  }
}

class CreditBucket extends Bucket {
  /** The balance the share was taken from: a set with a new generation must never receive it back. */
  generation = '';

  constructor(
    private readonly leases: KeyLeases,
    private readonly apiKey: string,
    private readonly refill: Refill | null,
  ) {
    super();
  }
  current(now: number): number {
    return periodOf(this.refill, now);
  }
  endOf(tag: number): number {
    return periodEnd(this.refill, tag);
  }
  need(charge: Charge): number {
    return charge.cost;
  }
  async lease(want: number, least: number, tag: number) {
    const got = await this.leases.leaseCredits(this.apiKey, want, least, tag);
    if (!got) return null;
    if (got.generation !== this.generation) {
      this.have = 0; // a share of a balance since overwritten: spent no more
      this.generation = got.generation;
    }
    // A period ahead of ours (a clock ahead of ours refilled): our share belongs to it.
    return { granted: got.granted, known: got.remaining, tag: got.period };
  }
  giveBack(n: number): Promise<void> {
    return this.leases.returnCredits(this.apiKey, n, this.generation, this.tag);
  }
  refusal(charge: Charge, now: number): AppError {
    const end = this.endOf(Math.max(this.tag, this.current(now)));
    const credits = this.left();
    const data: Record<string, unknown> = { credits, cost: charge.cost, refill_at: Number.isFinite(end) ? new Date(end).toISOString() : null };
    if (Number.isFinite(end)) data.retry_after = Math.max(1, Math.ceil((end - now) / 1000));
    const message = credits === 0 ? 'Out of credits' : `Not enough credits: ${credits} left, this request costs ${charge.cost}`;
    return new AppError('out_of_credits', Number.isFinite(end) ? `${message}; they refill at refill_at` : message, data);
  }
}

/** What this instance holds of one key. */
class KeyState {
  readonly rates: RateBucket[];
  readonly credits: CreditBucket | undefined;
  readonly buckets: Bucket[];
  lastUsed = Date.now();

  constructor(
    readonly limits: KeyLimits,
    leases: KeyLeases,
    apiKey: string,
  ) {
    this.rates = limits.ratelimits.map((r) => new RateBucket(leases, apiKey, r));
    this.credits = limits.credits ? new CreditBucket(leases, apiKey, limits.credits.refill) : undefined;
    this.buckets = this.credits ? [...this.rates, this.credits] : this.rates;
  }
}

export type Admission = { ok: true; tightest: RateAdvice | undefined } | { ok: false; error: AppError };

export class KeyLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly leases: KeyLeases) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), IDLE_MS / 2).unref();
  }

  /**
   * Admits a request made with a key that has limits, charging every limit,
   * or refuses it (charging none). Throws only when the database cannot be
   * reached for a lease the request needs.
   */
  async admit(apiKey: string, limits: KeyLimits, charge: Charge): Promise<Admission> {
    // Its first round is admitNow's check (the step tries admitNow alone first, without a promise).
    return this.admitLater(this.stateOf(apiKey, limits), charge);
  }

  /**
   * The common case, without a promise or an allocation: every limit's share
   * has room, so the request is admitted (and charged) at once, and this is
   * its tightest rate limit (null: the key has none). undefined: it must
   * wait for a lease, or be refused (admit).
   */
  admitNow(apiKey: string, limits: KeyLimits, charge: Charge, now: number): RateAdvice | null | undefined {
    const key = this.stateOf(apiKey, limits);
    key.lastUsed = now;
    for (const b of key.buckets) {
      b.roll(now);
      // Calls already waiting for this bucket's next share go first: a newcomer
      // must not take the share they are waiting for.
      if (b.have < b.need(charge) + b.demand) return undefined;
    }
    return this.take(key, charge, now) ?? null;
  }

  private async admitLater(key: KeyState, charge: Charge): Promise<Admission> {
    for (let round = 0; ; round++) {
      const now = Date.now();
      key.lastUsed = now;
      let short: Bucket | undefined;
      for (const b of key.buckets) {
        b.roll(now);
        // A newcomer (round 0) queues behind the calls already waiting, as in admitNow.
        if (b.have < b.need(charge) + (round === 0 ? b.demand : 0)) {
          short = b;
          break;
        }
      }
      if (!short) return { ok: true, tightest: this.take(key, charge, now) };
      // After the database had too little, a call is refused here only if it needs more than was left then.
      const hopeless = short.emptyUntil > now && short.need(charge) - short.have > short.known;
      if (hopeless || (short instanceof RateBucket && charge.calls > short.rule.limit)) return { ok: false, error: short.refusal(charge, now) };
      if (round >= MAX_ROUNDS) return { ok: false, error: new AppError('busy', 'Too many calls of this key are waiting for a share of its limits; try again') };
      const need = short.need(charge);
      short.demand += need;
      try {
        await short.fill(Math.max(1, need - short.have), now);
      } finally {
        short.demand -= need;
      }
    }
  }

  /** Charges every bucket (each has room: checked just before, with no await between); the tightest rate limit. */
  private take(key: KeyState, charge: Charge, now: number): RateBucket | undefined {
    for (const b of key.buckets) {
      b.have -= b.need(charge);
      b.lastUsed = now;
      // Half spent: take the next share now, so no call waits for it even when the database is slow to answer.
      if (b.have < b.size / 2 && !b.pending && b.emptyUntil <= now) void b.fill(1, now).catch(() => {});
    }
    let tightest: RateBucket | undefined;
    for (const r of key.rates) {
      if (!tightest || r.left() < tightest.left() || (r.left() === tightest.left() && r.endOf(r.tag) < tightest.endOf(tightest.tag))) tightest = r;
    }
    return tightest;
  }

  /**
   * Spends `cost` credits of a key outside any request (containment charges
   * credits a call grants to another key): exact, like a call's, and refused
   * without spending when they are not there.
   */
  async spend(apiKey: string, limits: KeyLimits, cost: number): Promise<Admission> {
    if (!limits.credits) return { ok: true, tightest: undefined };
    return this.admit(apiKey, limits, { calls: 0, cost });
  }

  /** What this instance knows of a key's limits (read from the database when it holds nothing of the key). */
  async snapshot(apiKey: string, limits: KeyLimits | null | undefined): Promise<LimitSnapshot> {
    if (!limits) return { credits: null, ratelimits: [] };
    const now = Date.now();
    const key = this.keys.get(apiKey);
    if (key?.limits.signature === limits.signature) {
      key.credits?.roll(now);
      return { credits: key.credits ? key.credits.left() : null, ratelimits: key.rates.map((r) => r.state(now)) };
    }
    const stored = await this.leases.read(apiKey);
    const credits = stored?.credits;
    return {
      credits: limits.credits ? (credits ? creditsNow(credits, now) : 0) : null,
      ratelimits: limits.ratelimits.map((rule) => {
        const w = stored?.rate_windows?.[rule.name];
        const cur = Math.floor(now / rule.duration_ms);
        const used = w?.window === cur && (w.duration_ms ?? rule.duration_ms) === rule.duration_ms ? w.used : 0;
        return {
          name: rule.name,
          limit: rule.limit,
          durationMs: rule.duration_ms,
          remaining: Math.max(0, rule.limit - used),
          resetAt: (cur + 1) * rule.duration_ms,
        };
      }),
    };
  }

  /** The key's state here, made afresh (its shares returned) when its limits changed. */
  private stateOf(apiKey: string, limits: KeyLimits): KeyState {
    let key = this.keys.get(apiKey);
    if (key?.limits.signature !== limits.signature) {
      if (key) void this.giveBackAll(key);
      key = new KeyState(limits, this.leases, apiKey);
      this.keys.set(apiKey, key);
    }
    return key;
  }

  /** Returns idle shares, and forgets keys not used for a while. */
  private sweep(now: number): void {
    for (const [apiKey, key] of this.keys) {
      for (const b of key.buckets) if (b.have > 0 && !b.pending && now - b.lastUsed > IDLE_MS) void this.giveBack(b);
      if (now - key.lastUsed > FORGET_MS && key.buckets.every((b) => b.have === 0 && !b.pending)) this.keys.delete(apiKey);
    }
  }

  private giveBack(b: Bucket): Promise<void> {
    const n = b.have;
    b.have = 0;
    b.known += n;
    // Best effort: a share that cannot go back is lost (an undershoot, never an overshoot).
    return b.giveBack(n).catch(() => {});
  }

  private giveBackAll(key: KeyState): Promise<unknown> {
    return Promise.all(key.buckets.filter((b) => b.have > 0).map((b) => this.giveBack(b)));
  }

  /** Stops the sweeper and returns every share held (on shutdown). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.keys.values()].map((k) => this.giveBackAll(k)));
    this.keys.clear();
  }
}
