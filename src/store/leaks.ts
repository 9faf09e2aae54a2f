/**
 * Ending a leaked secret: the key store's side of a leak report
 * (src/methods/leaks.ts decides what a report does; this does it).
 *
 * A secret is found by its SHA-256 (the stored secret_hash), with or
 * without its api_key: a leak often shows only the secret. It is live when
 * it is a key's current secret, or its previous one while the grace lasts.
 * Each write is conditional on the secret being live there, in one atomic
 * step, so however many reports of one secret arrive at once, on however
 * many instances, exactly one of them ends it; the others find nothing left
 * to end. Every write that ends a secret is announced like any other key
 * change (`changed`: this instance's cache at once, the others through
 * key_events), also when its reply is lost.
 *
 * `revoke` deletes the key pair (as auth.keys.revoke does). `expire` moves
 * the leaked secret into the grace slot, ending when the leak grace does,
 * and leaves the key with no usable current secret until generate_keys
 * issues one (an older secret still in its grace ends at once: the slot
 * holds one); a leaked secret already in the grace slot has its grace
 * shortened to the leak grace. The key remembers the secrets it saw
 * reported (leaked_hashes), so a second report of one changes nothing.
 *
 * leaked_secrets remembers, by SHA-256, the secrets ended here for
 * LEAKED_RETENTION_S, so a later report of one (GitHub reports every place
 * a token is found) is still known to be a real secret of ours. It holds
 * only digests of secrets that no longer work.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Collection, Db, ObjectId } from 'mongodb';
import type { KeyDoc, KeyUsageDoc } from './keys.js';

export type LeakAction = 'revoke' | 'expire';

export interface LeakedSecretDoc {
  /** SHA-256 of the secret, hex: the same digest the key held. */
  _id: string;
  api_key: string;
  at: Date;
}

export type LeakFound =
  /** No key has this secret, now or in its grace slot. */
  | { key: null }
  /** The key held it, but nothing was ended now: no longer live, or already ended by another report. */
  | { key: KeyDoc; ended: null }
  /** Ended now: revoked, or working until `until` (expire). */
  | { key: KeyDoc; ended: 'revoked' }
  | { key: KeyDoc; ended: 'expires'; until: Date };

/** How long a secret ended here is remembered as ours (90 days). */
export const LEAKED_RETENTION_S = 90 * 86_400;
/** Secrets a key remembers having seen reported (they are rare; the newest are what repeat). */
const REMEMBERED_PER_KEY = 10;

export class LeakStore {
  constructor(
    private readonly keys: Collection<KeyDoc>,
    private readonly usage: Collection<KeyUsageDoc>,
    private readonly leaked: Collection<LeakedSecretDoc>,
    private readonly changed: (userId: ObjectId, apiKey?: string) => Promise<void>,
  ) {}

  static async createIndexes(db: Db): Promise<void> {
    // A bare secret is found by its digest, current or previous.
    await db.collection('api_keys').createIndex({ secret_hash: 1 }, { name: 'secret_hash' }, undefined);
    await db.collection('api_keys').createIndex({ previous_secret_hash: 1 }, { name: 'previous_secret_hash' }, undefined);
    await db.collection('leaked_secrets').createIndex({ at: 1 }, { name: 'at_ttl', expireAfterSeconds: LEAKED_RETENTION_S }, undefined);
  }

  /**
   * Ends the secret whose digest is `secretHash` if it is live, by
   * `action`; `apiKey` narrows the search to one key when the report named
   * it. `graceSeconds` is how long `expire` leaves it working.
   */
  async end(secretHash: string, apiKey: string | undefined, action: LeakAction, graceSeconds: number, now = new Date()): Promise<LeakFound> {
    const named = apiKey === undefined ? {} : { api_key: apiKey };
    // Two finds, not one $or: each uses its index on every server (the local one scans the collection for an $or).
    const key = (await this.keys.findOne({ ...named, secret_hash: secretHash })) ?? (await this.keys.findOne({ ...named, previous_secret_hash: secretHash }));
    if (!key) return { key: null };
    let found: LeakFound;
    try {
      found = action === 'revoke' ? await this.revoke(key, secretHash, now) : await this.expire(key, secretHash, now, graceSeconds);
    } catch (err) {
      // Perhaps applied, its reply lost: announce it as if it had been (see KeyStore.issueSecret).
      await this.changed(key.user_id, key.api_key);
      throw err;
    }
    if (found.key && found.ended) {
      await this.changed(key.user_id, key.api_key);
      await this.remember(secretHash, key.api_key, now);
    }
    return found;
  }

  /** Whether this secret was ended here (within LEAKED_RETENTION_S). */
  async wasEnded(secretHash: string): Promise<boolean> {
    return (await this.leaked.findOne({ _id: secretHash }, { projection: { _id: 1 } })) !== null;
  }

  private async revoke(key: KeyDoc, h: string, now: Date): Promise<LeakFound> {
    // Live where it was found: the current secret, or the previous one in its grace.
    const live = key.secret_hash === h ? { secret_hash: h } : { previous_secret_hash: h, previous_valid_until: { $gt: now } };
    const gone = await this.keys.findOneAndDelete({ _id: key._id, ...live });
    if (!gone) return { key, ended: null };
    await this.usage.deleteOne({ _id: gone.api_key }).catch(() => {}); // only a time; never reused
    return { key: gone, ended: 'revoked' };
  }

  private async expire(key: KeyDoc, h: string, now: Date, graceSeconds: number): Promise<LeakFound> {
    const until = new Date(now.getTime() + graceSeconds * 1000);
    const remembered = { $slice: [{ $concatArrays: [{ $ifNull: ['$leaked_hashes', []] }, [{ $literal: h }]] }, -REMEMBERED_PER_KEY] };
    const revision = { $add: [{ $ifNull: ['$revision', 0] }, 1] };
    const fresh = { leaked_hashes: { $ne: h } };
    // The current secret: into the grace slot, with no usable secret in its
    // place (the digest of random bytes nobody holds) until a rotation.
    const current = await this.keys.findOneAndUpdate(
      { _id: key._id, secret_hash: h, ...fresh },
      [
        {
          $set: {
            previous_secret_hash: '$secret_hash',
            previous_valid_until: until,
            secret_hash: { $literal: createHash('sha256').update(randomBytes(32)).digest('hex') },
            leaked_hashes: remembered,
            revision,
          },
        },
      ],
      { returnDocument: 'after' },
    );
    if (current) return { key: current, ended: 'expires', until };
    // Already in the grace slot: its grace ends no later than the leak grace.
    const previous = await this.keys.findOneAndUpdate(
      { _id: key._id, previous_secret_hash: h, previous_valid_until: { $gt: now }, ...fresh },
      [{ $set: { previous_valid_until: { $min: ['$previous_valid_until', until] }, leaked_hashes: remembered, revision } }],
      { returnDocument: 'after' },
    );
    if (previous) return { key: previous, ended: 'expires', until: previous.previous_valid_until ?? until };
    return { key, ended: null };
  }

  /** Best effort: only what a later report of the same secret is told depends on it. */
  private async remember(h: string, apiKey: string, now: Date): Promise<void> {
    await this.leaked.updateOne({ _id: h }, { $setOnInsert: { api_key: apiKey, at: now } }, { upsert: true }).catch(() => {});
  }
}
