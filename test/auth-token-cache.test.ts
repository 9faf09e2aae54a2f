/** src/auth/token-cache.ts on its own: a fake lookup instead of the database. */
import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { TokenCache } from '../src/auth/token-cache.js';
import type { KeyRecord } from '../src/auth/key-record.js';
import { keyRecord } from './key-records.js';

const record = (apiKey: string, userId: ObjectId): KeyRecord => keyRecord(apiKey, { userId });

/** A lookup whose answers the test gives, one read at a time. */
function fakeDatabase() {
  const rows = new Map<string, KeyRecord>();
  const reads: string[] = [];
  const held: (() => void)[] = [];
  let hold = false;
  return {
    rows,
    reads,
    /** Reads from now on wait until release(). */
    hold: () => (hold = true),
    release: () => {
      hold = false;
      for (const go of held.splice(0)) go();
    },
    read: async (apiKey: string) => {
      reads.push(apiKey);
      const answer = rows.get(apiKey) ?? null; // as read when the lookup began
      if (hold) await new Promise<void>((r) => held.push(r));
      return answer;
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('auth/token-cache', () => {
  const alice = new ObjectId();
  const bob = new ObjectId();

  it('caches what a lookup found, and nothing for a key not found', async () => {
    const db = fakeDatabase();
    const cache = new TokenCache({ ttlMs: 60_000, size: 10 }, db.read);
    db.rows.set('k1', record('k1', alice));
    expect(cache.get('k1')).to.equal(undefined);
    expect(await cache.lookup('k1')).to.include({ apiKey: 'k1' });
    expect(cache.get('k1')).to.include({ apiKey: 'k1' });
    expect(await cache.lookup('nope')).to.equal(null);
    expect(cache.get('nope')).to.equal(undefined);
    expect(db.reads).to.deep.equal(['k1', 'nope']);
  });

  it('drops a cached key that a later lookup no longer finds', async () => {
    const db = fakeDatabase();
    const cache = new TokenCache({ ttlMs: 60_000, size: 10 }, db.read);
    db.rows.set('k1', record('k1', alice));
    await cache.lookup('k1');
    db.rows.delete('k1');
    expect(await cache.lookup('k1')).to.equal(null);
    expect(cache.get('k1')).to.equal(undefined);
  });

  it('shares one lookup among concurrent misses for one key', async () => {
    const db = fakeDatabase();
    const cache = new TokenCache({ ttlMs: 60_000, size: 10 }, db.read);
    db.rows.set('k1', record('k1', alice));
    db.hold();
    const first = cache.lookup('k1');
    expect(cache.pending('k1')).to.equal(first);
    const second = cache.lookup('k1');
    expect(second).to.equal(first);
    db.release();
    await Promise.all([first, second]);
    expect(db.reads).to.deep.equal(['k1']);
    expect(cache.pending('k1')).to.equal(undefined);
  });

  it('forgets every record of a changed user, and only that user', async () => {
    const db = fakeDatabase();
    const cache = new TokenCache({ ttlMs: 60_000, size: 10 }, db.read);
    db.rows.set('a1', record('a1', alice));
    db.rows.set('a2', record('a2', alice));
    db.rows.set('b1', record('b1', bob));
    await Promise.all(['a1', 'a2', 'b1'].map((k) => cache.lookup(k)));
    cache.forget(alice);
    expect(cache.get('a1')).to.equal(undefined);
    expect(cache.get('a2')).to.equal(undefined);
    expect(cache.get('b1')).to.include({ apiKey: 'b1' });
    expect(db.reads).to.have.length(3); // no key named: nothing read again
  });

  it('reads a changed key again at once, off any request', async () => {
    const db = fakeDatabase();
    const cache = new TokenCache({ ttlMs: 60_000, size: 10 }, db.read);
    db.rows.set('a1', record('a1', alice));
    await cache.lookup('a1');
    const rotated = { ...record('a1', alice), digest: Buffer.alloc(32, 7) };
    db.rows.set('a1', rotated);
    cache.forget(alice, 'a1');
    await settle();
    expect(db.reads).to.deep.equal(['a1', 'a1']);
    expect(cache.get('a1')?.digest).to.deep.equal(rotated.digest);
  });

  it('never caches a lookup that raced a change, and lets no later check join it', async () => {
    const db = fakeDatabase();
    const cache = new TokenCache({ ttlMs: 60_000, size: 10 }, db.read);
    db.rows.set('a1', record('a1', alice));
    db.hold();
    const stale = cache.lookup('a1'); // began before the change
    cache.forget(alice);
    expect(cache.pending('a1')).to.equal(undefined);
    db.release();
    expect(await stale).to.include({ apiKey: 'a1' }); // its caller still gets its answer
    expect(cache.get('a1')).to.equal(undefined);
  });

  it('with a TTL of 0 caches nothing and reads a changed key only when asked', async () => {
    const db = fakeDatabase();
    const cache = new TokenCache({ ttlMs: 0, size: 10 }, db.read);
    expect(cache.enabled).to.equal(false);
    db.rows.set('a1', record('a1', alice));
    await cache.lookup('a1');
    expect(cache.get('a1')).to.equal(undefined);
    cache.forget(alice, 'a1');
    await settle();
    expect(db.reads).to.deep.equal(['a1']);
  });
});
