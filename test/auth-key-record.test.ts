/** src/auth/key-record.ts on its own: the lookup of a key against stand-in stores. */
import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { NO_DIGEST, readKeyRecord, type KeyReader } from '../src/auth/key-record.js';
import { hashSecret, newApiKey, newApiSecret, secretDigest } from '../src/auth/token.js';
import type { KeyDoc } from '../src/store/keys.js';
import type { UserDoc } from '../src/store/users.js';

function stores(keys: KeyDoc[], users: UserDoc[]) {
  const calls: string[] = [];
  const removed: string[] = [];
  const reader: KeyReader = {
    keys: {
      // eslint-disable-next-line @typescript-eslint/require-await -- a stand-in for the store: async to answer with a promise, as it does
      findByApiKey: async (apiKey) => (calls.push('key'), keys.find((k) => k.api_key === apiKey) ?? null),
      // eslint-disable-next-line @typescript-eslint/require-await -- a stand-in for the store: async to answer with a promise, as it does
      removeOrphan: async (apiKey) => void removed.push(apiKey),
    },
    users: {
      // eslint-disable-next-line @typescript-eslint/require-await -- a stand-in for the store: async to answer with a promise, as it does
      findById: async (id) => (calls.push(`user ${id.toHexString()}`), users.find((u) => u._id.equals(id)) ?? null),
    },
  };
  return { reader, calls, removed };
}

function user(): UserDoc {
  const now = new Date();
  return { _id: new ObjectId(), name: 'ann', full_name: 'Ann', roles: ['R'], enabled: true, created_at: now, modified_at: now };
}

function keyOf(owner: UserDoc, secret: string, more: Partial<KeyDoc> = {}): KeyDoc {
  const now = new Date();
  return {
    _id: new ObjectId(),
    user_id: owner._id,
    user: owner.name,
    api_key: newApiKey(),
    secret_hash: hashSecret(secret),
    created_at: now,
    rotated_at: now,
    ...more,
  };
}

describe('auth/key-record', () => {
  it('reads the key, then its user, into a record', async () => {
    const ann = user();
    const secret = newApiSecret();
    const expires = new Date(Date.now() + 60_000);
    const key = keyOf(ann, secret, { expires_at: expires, scopes: ['user.get'] });
    const { reader, calls } = stores([key], [ann]);
    const rec = await readKeyRecord(reader, key.api_key, () => 1234);
    expect(calls).to.deep.equal(['key', `user ${ann._id.toHexString()}`]);
    expect(rec).to.deep.include({
      apiKey: key.api_key,
      userId: ann._id,
      user: 'ann',
      roles: ['R'],
      enabled: true,
      scopes: ['user.get'],
      expiresAt: expires.getTime(),
      expiresAtIso: expires.toISOString(),
      previousUntil: 0,
      lastUsedAt: 1234,
    });
    expect(rec!.digest.equals(secretDigest(secret))).to.equal(true);
    expect(rec!.previousDigest.equals(NO_DIGEST)).to.equal(true);
  });

  it('takes a key with no expiry, scopes or previous secret (written before they existed)', async () => {
    const ann = user();
    const key = keyOf(ann, newApiSecret());
    const rec = await readKeyRecord(stores([key], [ann]).reader, key.api_key, () => 0);
    expect(rec).to.deep.include({ expiresAt: Infinity, expiresAtIso: null, scopes: [] });
  });

  it('keeps the previous secret and when its grace ends', async () => {
    const ann = user();
    const old = newApiSecret();
    const until = new Date(Date.now() + 5000);
    const key = keyOf(ann, newApiSecret(), { previous_secret_hash: hashSecret(old), previous_valid_until: until });
    const rec = await readKeyRecord(stores([key], [ann]).reader, key.api_key, () => 0);
    expect(rec!.previousDigest.equals(secretDigest(old))).to.equal(true);
    expect(rec!.previousUntil).to.equal(until.getTime());
  });

  it('reads a user even for an unknown key, so both take two round trips', async () => {
    const { reader, calls } = stores([], [user()]);
    expect(await readKeyRecord(reader, newApiKey(), () => 0)).to.equal(null);
    expect(calls).to.have.length(2);
    expect(calls[1]).to.equal(`user ${'0'.repeat(24)}`);
  });

  it('honours no key whose user is gone, and tidies it away', async () => {
    const key = keyOf(user(), newApiSecret());
    const { reader, removed } = stores([key], []);
    expect(await readKeyRecord(reader, key.api_key, () => 0)).to.equal(null);
    expect(removed).to.deep.equal([key.api_key]);
  });
});
