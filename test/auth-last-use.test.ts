/** src/auth/last-use.ts on its own: when a key's last use is written. */
import { expect } from 'chai';
import { LastUse, LAST_USED_EVERY_MS } from '../src/auth/last-use.js';
import type { KeyRecord } from '../src/auth/key-record.js';
import { keyRecord } from './key-records.js';

const record = (apiKey: string, lastUsedAt = 0): KeyRecord => keyRecord(apiKey, { lastUsedAt });

const settle = () => new Promise((r) => setImmediate(r));

describe('auth/last-use', () => {
  it('writes a use at most once a minute per key', () => {
    const writes: [string, number][] = [];
    // eslint-disable-next-line @typescript-eslint/require-await -- the write LastUse takes answers with a promise
    const lastUse = new LastUse(100, async (k, at) => void writes.push([k, at.getTime()]));
    const rec = record('k1');
    const t0 = 1_700_000_000_000;
    lastUse.note(rec, t0);
    lastUse.note(rec, t0 + LAST_USED_EVERY_MS - 1);
    lastUse.note(rec, t0 + LAST_USED_EVERY_MS);
    expect(writes).to.deep.equal([
      ['k1', t0],
      ['k1', t0 + LAST_USED_EVERY_MS],
    ]);
  });

  it('remembers the write for a record of the same key loaded later', () => {
    const lastUse = new LastUse(100, async () => {});
    expect(lastUse.of('k1')).to.equal(0);
    const now = Date.now();
    lastUse.note(record('k1'), now);
    expect(lastUse.of('k1')).to.equal(now);
    expect(lastUse.of('k2')).to.equal(0);
  });

  it('tries again on the next use when a write fails', async () => {
    let calls = 0;
    // eslint-disable-next-line @typescript-eslint/require-await -- a failed write rejects, as the database's does; it does not throw
    const lastUse = new LastUse(100, async () => {
      calls++;
      throw new Error('database down');
    });
    const rec = record('k1');
    const now = Date.now();
    lastUse.note(rec, now);
    await settle();
    expect(rec.lastUsedAt).to.equal(0);
    expect(lastUse.of('k1')).to.equal(0);
    lastUse.note(rec, now + 1);
    expect(calls).to.equal(2);
  });
});
