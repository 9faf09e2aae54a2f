import { ObjectId, type Collection, type Filter } from 'mongodb';
import { AppError, isDuplicateKey, invalidParams } from '../errors.js';
import { newApiKey } from './api-key.js';
import { KeyLeases, creditsNow, newCredits, type CreditsSetting, type KeyLimitFields, type LeasedKey, type RateLimitRule } from './key-limits.js';

/**
 * The user a key belongs to, as far as the key store needs one (a UserDoc
 * will do): keys are found by the owner's _id, and carry its name for display.
 */
export interface KeyOwner {
  _id: ObjectId;
  name: string;
}

export interface KeyDoc extends KeyLimitFields {
  _id: ObjectId;
  /** The owner's _id, not its name: keys never pass to a later namesake. */
  user_id: ObjectId;
  user: string;
  api_key: string;
  /** SHA-256 of the secret, hex; the secret itself is never stored. */
  secret_hash: string;
  created_at: Date;
  /** When the current secret was issued. */
  rotated_at: Date;
  /**
   * When the token stops working; null: never. Checked in code: a TTL index
   * would delete the key at some point after expiry (its sweep runs once a
   * minute), not refuse it at the instant.
   */
  expires_at?: Date | null;
  /** Method-name patterns the token may call; empty: no limit beyond the roles. */
  scopes?: string[];
  /** CIDR ranges the token may be used from (canonical, src/ip.ts); empty: anywhere. */
  ip_allowlist?: string[];
  /** The secret before the last rotation, valid until previous_valid_until (a grace period). */
  previous_secret_hash?: string | null;
  previous_valid_until?: Date | null;
  /**
   * Last successful use: kept in the key_usage collection, not here, and
   * filled in when a key is read for display. A use is written often (once a
   * minute per key per instance): apart, it never contends with rotations
   * for the key's document, and reads of a key stay cacheable.
   */
  last_used_at?: Date | null;
  /** Bumped by every change to the key: how many rotations and updates it has seen. */
  revision?: number;
  /** Digests of secrets reported leaked while this key held them, so a report acts once (store/leaks.ts). */
  leaked_hashes?: string[];
  /** Stamps of the leak reports that ended a secret here, each until its report has recorded it (store/leaks.ts). */
  leak_claims?: LeakClaim[];
}

/** A leak report's stamp on a key whose secret it ended (store/leaks.ts). */
export interface LeakClaim {
  /** The report's id. */
  report: string;
  /** The digest it ended. */
  hash: string;
  at: Date;
}
// Fields marked optional may be missing from keys written before they existed.

/** What anyone is ever shown of a key: metadata, never a secret or its hash. */
export interface KeyInfo {
  user: string;
  api_key: string;
  created_at: string;
  rotated_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  scopes: string[];
  previous_valid_until: string | null;
  ratelimits: RateLimitRule[];
  credits: { remaining: number; refill: CreditsSetting['refill'] } | null;
  ip_allowlist: string[];
}

export function keyInfo(k: KeyDoc, now = Date.now()): KeyInfo {
  const graceEnds = k.previous_valid_until && k.previous_valid_until.getTime() > now ? k.previous_valid_until : null;
  return {
    user: k.user,
    api_key: k.api_key,
    created_at: k.created_at.toISOString(),
    rotated_at: k.rotated_at.toISOString(),
    last_used_at: k.last_used_at?.toISOString() ?? null,
    expires_at: k.expires_at?.toISOString() ?? null,
    scopes: k.scopes ?? [],
    previous_valid_until: graceEnds?.toISOString() ?? null,
    ratelimits: k.ratelimits ?? [],
    credits: k.credits ? { remaining: creditsNow(k.credits, now), refill: k.credits.refill } : null,
    ip_allowlist: k.ip_allowlist ?? [],
  };
}

export interface IssueOptions {
  /** undefined keeps the key's current expiry; null removes it. */
  expiresAt?: Date | null | undefined;
  /** undefined keeps the key's current scopes. */
  scopes?: string[] | undefined;
  /** undefined keeps the key's current rate limits, and credits; null credits: none. */
  ratelimits?: RateLimitRule[] | undefined;
  credits?: CreditsSetting | null | undefined;
  /** undefined keeps the key's current ip_allowlist. */
  ipAllowlist?: string[] | undefined;
  /** How long the secret being replaced keeps working; 0: it stops at once. */
  graceSeconds: number;
}

export interface KeyChanges {
  expiresAt?: Date | null | undefined;
  scopes?: string[] | undefined;
  ratelimits?: RateLimitRule[] | undefined;
  credits?: CreditsSetting | null | undefined;
  ipAllowlist?: string[] | undefined;
}

/**
 * Rounds of rotate-or-create. Only a key revoked and issued again between our
 * steps costs a round, so contention among rotations never runs these out.
 */
const ATTEMPTS = 10;

function expiredError(at: Date): AppError {
  return invalidParams([{ path: '/expires_at', message: `the key expired at ${at.toISOString()}: give a new expires_at, or null for none` }]);
}

/**
 * The limit fields a write sets: only those asked for (a rotation or update
 * keeps the others). Credits given are a new balance, with a new generation,
 * so no instance's lease of the old one is ever returned into it.
 */
function limitFields(opts: Pick<KeyChanges, 'ratelimits' | 'credits'>, now: Date): Pick<KeyDoc, 'ratelimits' | 'credits'> {
  const out: Pick<KeyDoc, 'ratelimits' | 'credits'> = {};
  if (opts.ratelimits !== undefined) out.ratelimits = opts.ratelimits;
  if (opts.credits !== undefined) out.credits = newCredits(opts.credits, now.getTime());
  return out;
}

/** When a key was last used, by api_key: written often, so apart from the key itself. */
export interface KeyUsageDoc {
  _id: string;
  last_used_at: Date;
}

export class KeyStore {
  /** The instances' leases of rate limits and credits (key-limits.ts): writes to the same documents. */
  readonly leases: KeyLeases;

  constructor(
    private readonly keys: Collection<KeyDoc>,
    private readonly usage: Collection<KeyUsageDoc>,
    private readonly changed: (userId: ObjectId, apiKey?: string) => Promise<void>,
  ) {
    // The same collection, seen through the fields the leases write.
    this.leases = new KeyLeases(keys as unknown as Collection<LeasedKey>);
  }

  /**
   * Sets a new secret on the user's key, creating the key (and its api_key,
   * which never changes afterwards) on first use. `created` tells a first
   * issue from a rotation.
   *
   * A rotation is one update with an aggregation pipeline, which reads the
   * document as it is when the write applies: the old hash moves aside for
   * the grace period, and kept expiry and scopes are carried over, in the
   * same atomic step. So concurrent rotations and updates all succeed, one
   * after another, none undoing another, and each caller gets the secret
   * that was current when its write applied. Only a key revoked or created
   * between our steps makes us go round again.
   */
  async issueSecret(user: KeyOwner, secretHash: string, opts: IssueOptions): Promise<{ key: KeyDoc; created: boolean }> {
    try {
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const now = new Date();
        if (opts.expiresAt && opts.expiresAt.getTime() <= now.getTime()) throw expiredError(opts.expiresAt);
        const key = await this.rotate(user, secretHash, opts, now);
        if (key) {
          await this.changed(user._id, key.api_key);
          return { key, created: false };
        }
        // No key to rotate: none yet, or (keeping its expiry) an expired one.
        const created = await this.create(user, secretHash, opts, now);
        if (created) {
          await this.changed(user._id, created.api_key);
          return { key: created, created: true };
        }
        const current = await this.keys.findOne({ user_id: user._id });
        if (opts.expiresAt === undefined && current?.expires_at && current.expires_at.getTime() <= now.getTime()) {
          throw expiredError(current.expires_at);
        }
        // Revoked and issued again between our steps: go round.
      }
      throw new AppError('conflict', `The key of ${user.name} is being changed by other calls right now; try again`);
    } catch (err) {
      // The write may have been applied before its reply was lost: drop what
      // is cached as if it had been, so the old secret is not trusted on.
      if (!(err instanceof AppError)) await this.changed(user._id);
      throw err;
    }
  }

  /** The rotation's single write; null when there is no key (or, keeping its expiry, only an expired one). */
  private async rotate(user: KeyOwner, secretHash: string, opts: IssueOptions, now: Date): Promise<KeyDoc | null> {
    const grace = opts.graceSeconds > 0;
    const filter: Filter<KeyDoc> = { user_id: user._id };
    // A new secret on an expired key would be dead on arrival; extending the
    // key's life must be asked for, never happen by accident.
    if (opts.expiresAt === undefined) filter.$or = [{ expires_at: null }, { expires_at: { $gt: now } }];
    // $literal: a value that starts with "$" must not be read as a field path.
    const pipeline = [
      {
        $set: {
          // Keys written before revisions existed have none: count from 0.
          revision: { $add: [{ $ifNull: ['$revision', 0] }, 1] },
          previous_secret_hash: grace ? '$secret_hash' : null,
          previous_valid_until: grace ? new Date(now.getTime() + opts.graceSeconds * 1000) : null,
          secret_hash: { $literal: secretHash },
          rotated_at: now,
          user: { $literal: user.name },
          expires_at: opts.expiresAt === undefined ? { $ifNull: ['$expires_at', null] } : opts.expiresAt,
          scopes: opts.scopes === undefined ? { $ifNull: ['$scopes', []] } : { $literal: opts.scopes },
          ...Object.fromEntries(Object.entries(limitFields(opts, now)).map(([k, v]) => [k, { $literal: v }])),
          ip_allowlist: opts.ipAllowlist === undefined ? { $ifNull: ['$ip_allowlist', []] } : { $literal: opts.ipAllowlist },
          // A leak report's claim is settled by a new secret: the tidy-up that follows a report
          // (store/leaks.ts) deletes only keys still claimed, never one rotated since.
          leak_claims: '$$REMOVE',
        },
      },
    ];
    return this.keys.findOneAndUpdate(filter, pipeline, { returnDocument: 'after' });
  }

  /** The first issue; null when a key exists after all (another first issue won the unique user_id index). */
  private async create(user: KeyOwner, secretHash: string, opts: IssueOptions, now: Date): Promise<KeyDoc | null> {
    const key: KeyDoc = {
      _id: new ObjectId(),
      user_id: user._id,
      user: user.name,
      api_key: newApiKey(),
      secret_hash: secretHash,
      created_at: now,
      rotated_at: now,
      expires_at: opts.expiresAt ?? null,
      scopes: opts.scopes ?? [],
      ratelimits: opts.ratelimits ?? [],
      credits: newCredits(opts.credits ?? null, now.getTime()),
      ip_allowlist: opts.ipAllowlist ?? [],
      previous_secret_hash: null,
      previous_valid_until: null,
      revision: 0,
    };
    try {
      await this.keys.insertOne(key);
      return key;
    } catch (err) {
      if (isDuplicateKey(err)) return null;
      throw err;
    }
  }

  async get(user: KeyOwner): Promise<KeyDoc> {
    const key = await this.keys.findOne({ user_id: user._id });
    if (!key) throw new AppError('not_found', `User ${user.name} has no API key`);
    return (await this.withUsage([key]))[0]!;
  }

  private async withUsage(keys: KeyDoc[]): Promise<KeyDoc[]> {
    if (keys.length === 0) return keys;
    const used = await this.usage.find({ _id: { $in: keys.map((k) => k.api_key) } }).toArray();
    const at = new Map(used.map((u) => [u._id, u.last_used_at]));
    return keys.map((k) => ({ ...k, last_used_at: at.get(k.api_key) ?? null }));
  }

  /** Keys by owner name, a page at a time. */
  async list(start: number, limit: number, userId?: ObjectId): Promise<KeyDoc[]> {
    const keys = await this.keys
      .find(userId ? { user_id: userId } : {})
      .sort({ user: 1, _id: 1 })
      .skip(start)
      .limit(limit)
      .toArray();
    return this.withUsage(keys);
  }

  async update(user: KeyOwner, changes: KeyChanges): Promise<KeyDoc> {
    const $set: Partial<KeyDoc> = {};
    if (changes.expiresAt !== undefined) $set.expires_at = changes.expiresAt;
    if (changes.scopes !== undefined) $set.scopes = changes.scopes;
    Object.assign($set, limitFields(changes, new Date()));
    if (changes.ipAllowlist !== undefined) $set.ip_allowlist = changes.ipAllowlist;
    const key = await this.write(user, () => this.keys.findOneAndUpdate({ user_id: user._id }, { $set, $inc: { revision: 1 } }, { returnDocument: 'after' }));
    await this.changed(user._id, key.api_key);
    return key;
  }

  /** Deletes the key pair; the next generate_keys makes a new api_key. */
  async revoke(user: KeyOwner): Promise<KeyDoc> {
    const key = await this.write(user, () => this.keys.findOneAndDelete({ user_id: user._id }));
    await this.changed(user._id, key.api_key);
    await this.usage.deleteOne({ _id: key.api_key }).catch(() => {}); // only a time; never reused
    return key;
  }

  private async write(user: KeyOwner, op: () => Promise<KeyDoc | null>): Promise<KeyDoc> {
    let key: KeyDoc | null;
    try {
      key = await op();
    } catch (err) {
      await this.changed(user._id); // perhaps applied, reply lost: see issueSecret
      throw err;
    }
    if (!key) throw new AppError('not_found', `User ${user.name} has no API key`);
    return key;
  }

  /**
   * Records a use. Not a change: nothing cached depends on it, so the caches
   * are not told (that would empty them once a minute per key).
   */
  async touch(apiKey: string, at: Date): Promise<void> {
    // $max: with several instances, a late write must not move the time back.
    await this.usage.updateOne({ _id: apiKey }, { $max: { last_used_at: at } }, { upsert: true });
  }

  /** Removes a key left behind by a user deletion that was cut short. */
  async removeOrphan(apiKey: string): Promise<void> {
    await this.keys.deleteOne({ api_key: apiKey });
  }

  async findByApiKey(apiKey: string): Promise<KeyDoc | null> {
    return this.keys.findOne({ api_key: apiKey });
  }

  /**
   * The api_key of each of these users that has one, by user name. Keys are
   * found by the owner's _id, as the token check finds them, so a key left
   * behind by a deleted namesake is never shown as this user's.
   */
  async apiKeysOf(owners: readonly KeyOwner[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (owners.length === 0) return out;
    const byId = new Map(owners.map((u) => [u._id.toHexString(), u.name]));
    const keys = await this.keys.find({ user_id: { $in: owners.map((u) => u._id) } }, { projection: { _id: 0, user_id: 1, api_key: 1 } }).toArray();
    for (const k of keys) {
      const name = byId.get(k.user_id.toHexString());
      if (name !== undefined) out.set(name, k.api_key);
    }
    return out;
  }

  /**
   * Removes the keys of a user that is gone: the second of a user deletion's
   * two writes (see UserStore.delete), made by whoever deleted the user. Not
   * a change the caches need hear of: the deletion already told them, and a
   * key whose user is gone authenticates nobody. Tried twice (a delete is
   * safe to repeat), since a key left behind waits until it is presented.
   */
  async deleteOwnedBy(userId: ObjectId): Promise<void> {
    try {
      await this.keys.deleteMany({ user_id: userId });
    } catch {
      await this.keys.deleteMany({ user_id: userId });
    }
  }
}
