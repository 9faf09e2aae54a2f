/**
 * Per-key rate limits and credits as stored on the key's own document, and
 * the leases instances take from them (see docs/limits.md for the design
 * and its bounds). Every write here is ONE update of one document, so it
 * rests on single-document atomicity alone:
 *
 * - a credit lease takes up to `want` from `credits.remaining`, first
 *   setting the balance to the refill amount when the stored period is
 *   older than the caller's; the pipeline computes the grant from the
 *   balance as the write finds it, so concurrent leases can never take
 *   more than there is;
 * - a rate lease does the same on the window counter `rate_windows.<name>`
 *   (`used` against the limit), starting the counter afresh in a new window;
 * - a return adds back what an instance did not spend, only while the
 *   balance is still the one it was taken from (same generation and
 *   period, or same window): credits of a past period or an overwritten
 *   balance are dropped, never added to the new one.
 */
import { ObjectId, type Collection, type Document } from 'mongodb';

export interface RateLimitRule {
  /** [A-Za-z0-9_-]{1,32} (the schema's), so it is safe as a field name. */
  name: string;
  limit: number;
  duration_ms: number;
}

export type RefillInterval = 'daily' | 'monthly' | number;

export interface Refill {
  amount: number;
  interval: RefillInterval;
}

export interface CreditsDoc {
  /** What no instance has leased yet. */
  remaining: number;
  refill: Refill | null;
  /** The refill period the balance belongs to (periodOf); 0 without refill. */
  period: number;
  /** New on every set: leases of an overwritten balance are never returned into the new one. */
  generation: string;
  /** The last lease's grant (what the write that returned the document took). */
  lease?: number;
}

export interface RateWindowDoc {
  /** floor(now / duration_ms) of the window `used` counts. */
  window: number;
  /**
   * The window's length when it was counted: a counter kept for another
   * length (the limit was changed) counts nothing for this one. Its window
   * number, on another scale, would otherwise look like a window to come
   * and refuse every call (found by an outside attacker).
   */
  duration_ms?: number;
  used: number;
  lease?: number;
}

/** The fields a key carries for its limits (part of KeyDoc). */
export interface KeyLimitFields {
  ratelimits?: RateLimitRule[];
  credits?: CreditsDoc | null;
  rate_windows?: Record<string, RateWindowDoc>;
}

/** Credits as set by a call (the schema's shape). */
export interface CreditsSetting {
  remaining: number;
  refill?: Refill | null | undefined;
}

const DAY_MS = 86_400_000;
/**
 * A lease takes at most this share of what is left (rounded up), so a key
 * with few credits is not held by one instance while others refuse: the
 * last credits go out one by one.
 */
export const LEASE_SHARES = 8;

/** The refill period `now` falls in: UTC days, UTC months, or multiples of the interval since the epoch; 0 without refill. */
export function periodOf(refill: Refill | null | undefined, now: number): number {
  if (!refill) return 0;
  if (refill.interval === 'daily') return Math.floor(now / DAY_MS);
  if (refill.interval === 'monthly') {
    const d = new Date(now);
    return d.getUTCFullYear() * 12 + d.getUTCMonth();
  }
  return Math.floor(now / refill.interval);
}

/** When `period` ends (ms since the epoch); Infinity without refill. */
export function periodEnd(refill: Refill | null | undefined, period: number): number {
  if (!refill) return Infinity;
  if (refill.interval === 'daily') return (period + 1) * DAY_MS;
  if (refill.interval === 'monthly') return Date.UTC(Math.floor((period + 1) / 12), (period + 1) % 12, 1);
  return (period + 1) * refill.interval;
}

/**
 * What the token check keeps of a key's limits (null: the key has none, the
 * common case, which costs nothing per call). `signature` changes whenever
 * the limits do, so an instance notices a change by a new record.
 */
export interface KeyLimits {
  ratelimits: readonly RateLimitRule[];
  credits: { refill: Refill | null } | null;
  signature: string;
}

export function limitsOf(key: KeyLimitFields): KeyLimits | null {
  const ratelimits = key.ratelimits ?? [];
  const credits = key.credits ? { refill: key.credits.refill } : null;
  if (ratelimits.length === 0 && !credits) return null;
  return { ratelimits, credits, signature: JSON.stringify([ratelimits, key.credits?.refill, key.credits?.generation]) };
}

/** The stored form of credits set now. */
export function newCredits(setting: CreditsSetting | null, now: number): CreditsDoc | null {
  if (setting === null) return null;
  const refill = setting.refill ?? null;
  return { remaining: setting.remaining, refill, period: periodOf(refill, now), generation: new ObjectId().toHexString() };
}

/** The balance a reader should see: a refill that is due counts as done. */
export function creditsNow(credits: CreditsDoc, now: number): number {
  return credits.refill && credits.period < periodOf(credits.refill, now) ? credits.refill.amount : credits.remaining;
}

export interface CreditLease {
  granted: number;
  /** What is left after the grant. */
  remaining: number;
  period: number;
  generation: string;
}

export interface RateLease {
  granted: number;
  /** Calls left in the window after the grant. */
  remaining: number;
}

/**
 * What a lease takes of `left`, as the database computes it: nothing unless
 * `least` (what the waiting call needs) is there; else up to `want`, but no
 * more than a LEASE_SHARES-th of what is left unless the call needs more.
 */
function grant(want: number, least: number, left: unknown): Document {
  const share = { $max: [least, { $min: [want, { $ceil: { $divide: [left, LEASE_SHARES] } }] }] };
  return { $cond: [{ $gte: [left, least] }, { $min: [share, left] }, 0] };
}

/** A key document as the leases see it: its api_key and its limit fields. */
export type LeasedKey = { api_key: string } & KeyLimitFields;

export class KeyLeases {
  constructor(private readonly keys: Collection<LeasedKey>) {}

  /**
   * Takes up to `want` credits (null: the key has none, or is gone). `period`
   * is the caller's current refill period: a balance of an older one is
   * first set to the refill amount, in the same write.
   */
  async leaseCredits(apiKey: string, want: number, least: number, period: number): Promise<CreditLease | null> {
    const doc = await this.keys.findOneAndUpdate(
      { api_key: apiKey, credits: { $type: 'object' } },
      [
        {
          $set: {
            'credits.remaining': {
              $cond: [{ $and: [{ $lt: ['$credits.period', period] }, { $ne: ['$credits.refill', null] }] }, '$credits.refill.amount', '$credits.remaining'],
            },
            'credits.period': { $max: ['$credits.period', period] },
          },
        },
        { $set: { 'credits.lease': grant(want, least, '$credits.remaining') } },
        { $set: { 'credits.remaining': { $subtract: ['$credits.remaining', '$credits.lease'] } } },
      ],
      { returnDocument: 'after', projection: { _id: 0, credits: 1 } },
    );
    const c = doc?.credits;
    if (!c) return null;
    return { granted: c.lease ?? 0, remaining: c.remaining, period: c.period, generation: c.generation };
  }

  /** Gives back unspent credits, only into the balance they came from. */
  async returnCredits(apiKey: string, n: number, generation: string, period: number): Promise<void> {
    await this.keys.updateOne({ api_key: apiKey, 'credits.generation': generation, 'credits.period': period }, { $inc: { 'credits.remaining': n } });
  }

  /** Takes up to `want` calls of window `window` of the named limit (null: the key is gone). */
  async leaseRate(apiKey: string, rule: RateLimitRule, want: number, least: number, window: number): Promise<RateLease | null> {
    const at = `rate_windows.${rule.name}`;
    const doc = await this.keys.findOneAndUpdate(
      { api_key: apiKey },
      [
        // A counter of an older window (or none, or of another window length) starts again at 0; a newer one (a clock ahead of ours) is kept.
        {
          $set: {
            [at]: {
              $cond: [
                {
                  $and: [
                    { $eq: [{ $ifNull: [`$${at}.duration_ms`, rule.duration_ms] }, rule.duration_ms] },
                    { $gte: [{ $ifNull: [`$${at}.window`, -1] }, window] },
                  ],
                },
                `$${at}`,
                { window, used: 0, duration_ms: rule.duration_ms },
              ],
            },
          },
        },
        { $set: { [`${at}.lease`]: { $cond: [{ $eq: [`$${at}.window`, window] }, grant(want, least, { $subtract: [rule.limit, `$${at}.used`] }), 0] } } },
        { $set: { [`${at}.used`]: { $add: [`$${at}.used`, `$${at}.lease`] } } },
      ],
      { returnDocument: 'after', projection: { _id: 0, [at]: 1 } },
    );
    const w = doc?.rate_windows?.[rule.name];
    if (!w) return null;
    // Granted only for our window: a counter a clock ahead of ours moved on grants us nothing.
    if (w.window !== window || (w.duration_ms ?? rule.duration_ms) !== rule.duration_ms) return { granted: 0, remaining: 0 };
    return { granted: w.lease ?? 0, remaining: Math.max(0, rule.limit - w.used) };
  }

  async returnRate(apiKey: string, rule: RateLimitRule, n: number, window: number): Promise<void> {
    const at = `rate_windows.${rule.name}`;
    await this.keys.updateOne(
      { api_key: apiKey, [`${at}.window`]: window, [`${at}.duration_ms`]: { $in: [rule.duration_ms, null] } },
      { $inc: { [`${at}.used`]: -n } },
    );
  }

  /** The stored state, for a reader that holds no leases of the key (auth.verify of another token). */
  async read(apiKey: string): Promise<Pick<KeyLimitFields, 'credits' | 'rate_windows'> | null> {
    return this.keys.findOne({ api_key: apiKey }, { projection: { _id: 0, credits: 1, rate_windows: 1 } });
  }
}
