/**
 * The token check. Returns who is calling, or null; never why it failed, so
 * a caller cannot probe which api_keys exist.
 */
import type { ObjectId } from 'mongodb';
import type { Storage } from '../store/storage.js';
import { hashSecret, sameHash, type TokenParts } from './token.js';

export interface Caller {
  user: string;
  /** null for the local operator (CLI), who holds no token. */
  userId: ObjectId | null;
  roles: string[];
  apiKey: string | null;
}

// Compared against when the api_key is unknown, so both failures do the same work.
const NO_HASH = hashSecret('no such key');

export class Authenticator {
  constructor(private readonly storage: Storage) {}

  async verify(token: TokenParts | null): Promise<Caller | null> {
    if (!token) return null; // malformed or bad checksum: no lookup at all
    const key = await this.storage.keys.findByApiKey(token.apiKey);
    const matches = sameHash(hashSecret(token.apiSecret), key?.secret_hash ?? NO_HASH);
    if (!key || !matches) return null;
    const user = await this.storage.users.findById(key.user_id);
    if (!user || !user.enabled) return null;
    return { user: user.name, userId: user._id, roles: user.roles, apiKey: key.api_key };
  }
}
