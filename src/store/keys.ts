import { ObjectId, type Collection, type Filter } from 'mongodb';
import { AppError, isDuplicateKey } from '../errors.js';
import { newApiKey } from '../auth/token.js';
import type { UserDoc } from './users.js';

export interface KeyDoc {
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
  /** When the token stops working; null: never. Checked in code (no TTL index: FerretDB has none). */
  expires_at?: Date | null;
  /** Method-name patterns the token may call; empty: no limit beyond the roles. */
  scopes?: string[];
  /** The secret before the last rotation, valid until previous_valid_until (a grace period). */
  previous_secret_hash?: string | null;
  previous_valid_until?: Date | null;
  /**
   * Last successful use: kept in the key_usage collection, not here, and
   * filled in when a key is read for display. FerretDB rewrites a whole
   * document on update, so a use written here while a rotation writes the
   * secret could put the old secret back.
   */
  last_used_at?: Date | null;
  /** Bumped by every change, so a rotation can tell that nothing changed since it read the key. */
  revision?: number;
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
  };
}

export interface IssueOptions {
  /** undefined keeps the key's current expiry; null removes it. */
  expiresAt?: Date | null | undefined;
  /** undefined keeps the key's current scopes. */
  scopes?: string[] | undefined;
  /** How long the secret being replaced keeps working; 0: it stops at once. */
  graceSeconds: number;
}

export interface KeyChanges {
  expiresAt?: Date | null | undefined;
  scopes?: string[] | undefined;
}

const ATTEMPTS = 10;

/** When a key was last used, by api_key: written often, so apart from the key itself. */
export interface KeyUsageDoc {
  _id: string;
  last_used_at: Date;
}

export class KeyStore {
  constructor(
    private readonly keys: Collection<KeyDoc>,
    private readonly usage: Collection<KeyUsageDoc>,
    private readonly changed: (userId: ObjectId, apiKey?: string) => Promise<void>,
  ) {}

  /**
   * Sets a new secret on the user's key, creating the key (and its api_key,
   * which never changes afterwards) on first use. A rotation is a
   * compare-and-set on the key's revision: with a grace period the old hash
   * must be copied aside, and kept expiry and scopes carried over, and
   * MongoDB 7 and FerretDB share no update that reads one field into
   * another. A rotation or update that lands in between makes it read again,
   * so none is lost, and the last writer's secret is the current one.
   * `created` tells a first issue from a rotation.
   */
  async issueSecret(user: UserDoc, secretHash: string, opts: IssueOptions): Promise<{ key: KeyDoc; created: boolean }> {
    try {
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const now = new Date();
        const current = await this.keys.findOne({ user_id: user._id });
        if (!current) {
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
            previous_secret_hash: null,
            previous_valid_until: null,
            revision: 0,
          };
          try {
            await this.keys.insertOne(key);
          } catch (err) {
            // Another first issue won the unique user_id index: rotate its key instead.
            if (isDuplicateKey(err)) continue;
            throw err;
          }
          await this.changed(user._id, key.api_key);
          return { key, created: true };
        }
        const expiresAt = opts.expiresAt === undefined ? (current.expires_at ?? null) : opts.expiresAt;
        if (expiresAt && expiresAt.getTime() <= now.getTime()) {
          // A new secret on an expired key would be dead on arrival; extending
          // the key's life must be asked for, never happen by accident.
          throw new AppError('invalid_params', 'Invalid params', [
            { path: '/expires_at', message: `the key expired at ${expiresAt.toISOString()}: give a new expires_at, or null for none` },
          ]);
        }
        const grace = opts.graceSeconds > 0;
        const key = await this.keys.findOneAndUpdate(
          // Keys written before revisions existed have none: "still none" is the same test.
          { _id: current._id, revision: current.revision ?? { $exists: false } } as Filter<KeyDoc>,
          {
            $set: {
              revision: (current.revision ?? 0) + 1,
              secret_hash: secretHash,
              rotated_at: now,
              user: user.name,
              expires_at: expiresAt,
              scopes: opts.scopes ?? current.scopes ?? [],
              previous_secret_hash: grace ? current.secret_hash : null,
              previous_valid_until: grace ? new Date(now.getTime() + opts.graceSeconds * 1000) : null,
            },
          },
          { returnDocument: 'after' },
        );
        if (!key) continue; // changed or revoked since we read it: read again
        await this.changed(user._id, key.api_key);
        return { key, created: false };
      }
      throw new AppError('conflict', `The key of ${user.name} is being changed by other calls right now; try again`);
    } catch (err) {
      // The write may have been applied before its reply was lost: drop what
      // is cached as if it had been, so the old secret is not trusted on.
      if (!(err instanceof AppError)) await this.changed(user._id);
      throw err;
    }
  }

  async get(user: UserDoc): Promise<KeyDoc> {
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

  async update(user: UserDoc, changes: KeyChanges): Promise<KeyDoc> {
    const $set: Partial<KeyDoc> = {};
    if (changes.expiresAt !== undefined) $set.expires_at = changes.expiresAt;
    if (changes.scopes !== undefined) $set.scopes = changes.scopes;
    const key = await this.write(user, () =>
      this.keys.findOneAndUpdate({ user_id: user._id }, { $set, $inc: { revision: 1 } }, { returnDocument: 'after' }),
    );
    await this.changed(user._id, key.api_key);
    return key;
  }

  /** Deletes the key pair; the next generate_keys makes a new api_key. */
  async revoke(user: UserDoc): Promise<KeyDoc> {
    const key = await this.write(user, () => this.keys.findOneAndDelete({ user_id: user._id }));
    await this.changed(user._id, key.api_key);
    await this.usage.deleteOne({ _id: key.api_key }).catch(() => {}); // only a time; never reused
    return key;
  }

  private async write(user: UserDoc, op: () => Promise<KeyDoc | null>): Promise<KeyDoc> {
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
}
