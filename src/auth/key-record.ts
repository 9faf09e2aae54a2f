/**
 * What the token check knows of a key, and the one database lookup that
 * reads it. The record holds the secret's SHA-256, never the secret, so it
 * may be cached.
 */
import { ObjectId } from 'mongodb';
import type { KeyStore } from '../store/keys.js';
import type { UserStore } from '../store/users.js';
import { secretDigest } from './token.js';
import { limitsOf, type KeyLimits } from '../store/key-limits.js';
import { Ranges } from '../ip.js';

export interface KeyRecord {
  apiKey: string;
  /** SHA-256 of the secret, as bytes (decoded once, not on every check). */
  digest: Buffer;
  /** The secret before the last rotation, accepted until previousUntil (ms). */
  previousDigest: Buffer;
  previousUntil: number;
  /** ms since the epoch; Infinity: never. */
  expiresAt: number;
  /** The same as callers see it, made once per load rather than per call. */
  expiresAtIso: string | null;
  userId: ObjectId;
  user: string;
  roles: string[];
  enabled: boolean;
  scopes: readonly string[];
  /** Rate limits and credits; null: none. */
  limits: KeyLimits | null;
  /** The key's ip_allowlist, ready to match; null: anywhere. */
  ipAllowlist: Ranges | null;
  /** Last use this process wrote (ms), so it is written at most once a minute. */
  lastUsedAt: number;
}

/** Compared against when the api_key is unknown (or has no previous secret), so every check does the same work. */
export const NO_DIGEST = secretDigest('no such key');
const NO_USER = new ObjectId('000000000000000000000000');

/** The parts of storage a lookup reads (and tidies). */
export interface KeyReader {
  keys: Pick<KeyStore, 'findByApiKey' | 'removeOrphan'>;
  users: Pick<UserStore, 'findById'>;
}

/**
 * Reads a key and its user: always two round trips. `lastUsedAt` tells when
 * this process last wrote the key's use (asked once both reads are done).
 */
export async function readKeyRecord(storage: KeyReader, apiKey: string, lastUsedAt: (apiKey: string) => number): Promise<KeyRecord | null> {
  const key = await storage.keys.findByApiKey(apiKey);
  // The user is read even for an unknown key (a _id that matches nothing), so
  // both take two round trips and the time taken tells nothing.
  const user = await storage.users.findById(key?.user_id ?? NO_USER);
  // A key whose user is gone (a deletion cut short between its two writes)
  // authenticates nobody; tidy it away, best effort.
  if (key && !user) void storage.keys.removeOrphan(apiKey).catch(() => {});
  if (!key || !user) return null;
  return {
    apiKey,
    digest: Buffer.from(key.secret_hash, 'hex'),
    previousDigest: key.previous_secret_hash ? Buffer.from(key.previous_secret_hash, 'hex') : NO_DIGEST,
    previousUntil: key.previous_valid_until?.getTime() ?? 0,
    expiresAt: key.expires_at?.getTime() ?? Infinity,
    expiresAtIso: key.expires_at?.toISOString() ?? null,
    userId: user._id,
    user: user.name,
    roles: user.roles,
    enabled: user.enabled,
    scopes: key.scopes ?? [],
    limits: limitsOf(key),
    ipAllowlist: key.ip_allowlist?.length ? Ranges.of(key.ip_allowlist) : null,
    lastUsedAt: lastUsedAt(apiKey),
  };
}
