import type { Collection, ObjectId } from 'mongodb';
import { isDuplicateKey } from '../errors.js';
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
}

export class KeyStore {
  constructor(
    private readonly keys: Collection<KeyDoc>,
    private readonly changed: (userId: ObjectId, apiKey?: string) => Promise<void>,
  ) {}

  /**
   * Sets a new secret hash on the user's key, creating the key on first use,
   * in one atomic upsert: the api_key is written only on insert, so it never
   * changes, and concurrent callers race on one document where the last
   * writer's secret is the only one that works.
   */
  async issueSecret(user: UserDoc, secretHash: string): Promise<KeyDoc> {
    const now = new Date();
    for (let attempt = 1; ; attempt++) {
      try {
        const doc = await this.keys.findOneAndUpdate(
          { user_id: user._id },
          {
            $set: { secret_hash: secretHash, rotated_at: now, user: user.name },
            $setOnInsert: { api_key: newApiKey(), created_at: now },
          },
          { upsert: true, returnDocument: 'after' },
        );
        if (!doc) throw new Error('upsert returned no document');
        await this.changed(user._id, doc.api_key);
        return doc;
      } catch (err) {
        // Two first-time upserts can both try to insert; the unique index on
        // user_id lets one win, and the loser's retry updates the winner's doc.
        if (isDuplicateKey(err) && attempt < 5) continue;
        // The write may have been applied before the reply was lost: drop
        // what is cached as if it had been, so the old secret is not trusted on.
        await this.changed(user._id);
        throw err;
      }
    }
  }

  /** Removes a key left behind by a user deletion that was cut short. */
  async removeOrphan(apiKey: string): Promise<void> {
    await this.keys.deleteOne({ api_key: apiKey });
  }

  async findByApiKey(apiKey: string): Promise<KeyDoc | null> {
    return this.keys.findOne({ api_key: apiKey });
  }
}
