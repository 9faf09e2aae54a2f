/** A key record for the token check's unit tests: an enabled key that never expires, with `more` on top. */
import { ObjectId } from 'mongodb';
import { NO_DIGEST, type KeyRecord } from '../src/auth/key-record.js';

export function keyRecord(apiKey: string, more: Partial<KeyRecord> = {}): KeyRecord {
  return {
    apiKey,
    digest: NO_DIGEST,
    previousDigest: NO_DIGEST,
    previousUntil: 0,
    expiresAt: Infinity,
    expiresAtIso: null,
    userId: new ObjectId(),
    user: 'u',
    roles: [],
    enabled: true,
    scopes: [],
    limits: null,
    ipAllowlist: null,
    lastUsedAt: 0,
    ...more,
  };
}
