/**
 * Ending leaked secrets: the key store's side of a leak report
 * (src/methods/leaks.ts decides what a report does; this does it). A report
 * is one batch, whatever its size (GitHub sends up to a thousand tokens at
 * once): its cost is a fixed number of round trips, not a number per token
 * (a step's lists go in chunks of IN_CHUNK, sent together).
 *
 * A secret is found by its SHA-256 (the stored secret_hash), whatever
 * api_key was written with it, if any: the secret is what leaked. It is live when
 * it is a key's current secret, or its previous one while the grace lasts.
 *
 * One report, in four steps (each one round trip, but the first: two; the
 * operations of a step go out together):
 *
 * 1. find: the keys holding any reported digest, as current secret and then
 *    as previous one (two finds with $in, each on its index: the local
 *    server scans the collection for an $or; in that order, so a secret
 *    moving from one slot to the other meanwhile is found), and which
 *    digests leaked_secrets remembers (one find by _id);
 * 2. end and claim: one updateMany for the keys whose current secret was
 *    reported, one for those whose previous one was. Each is conditional on
 *    the secret being live in the document as it is when the write applies,
 *    and in the same atomic write ends it by LEAK_POLICY and stamps the key
 *    with this report's id (leak_claims). So however many reports of one
 *    secret arrive at once, on however many instances, exactly one stamps
 *    it; there is no moment when a key is claimed and its secret still
 *    works, so a report cut off after this step has still ended what it
 *    claimed;
 * 3. what this report ended: every key it meant to when each write of
 *    step 2 changed as many keys as it was given (the usual case); else
 *    the keys stamped with this report's id, read back (one find): not one
 *    that another report ended;
 * 4. record, at once: key_events (a clock read and one insertMany: the
 *    other instances drop their cached entries), this instance's caches,
 *    the caller's audit entries (one insertMany); the report is answered
 *    then. Once the events are written, leaked_secrets (one insertMany)
 *    and then the tidy-up, which the answer does not wait for: under
 *    `revoke` the ended keys still claimed are deleted (one deleteMany, and
 *    one of their key_usage), under `expire` the stamps are removed (one
 *    updateMany). A rotation removes a key's claim (store/keys.ts), so a
 *    key issued again in between is never deleted.
 *
 * A secret found live whose write missed it (a rotation moved it into the
 * grace slot in between) is looked up and ended again, up to END_ROUNDS
 * times in all. Ten to twelve operations per report of up to IN_CHUNK
 * secrets without such a race (a report of one token costs the same), and
 * a few more per chunk beyond, sent together; what grows with it is the work of each: per
 * secret ended, one document read and five (expire) or six (revoke)
 * written. Every write that ends a secret is announced like any other key
 * change (`changed`), also when its reply is lost: then every key the
 * report meant to end is announced and the report fails. The tidy-up waits
 * for the events, so a report whose events cannot be written, or that is
 * cut off after step 2, leaves its keys ended and stamped: a report of one
 * of them a minute or more later (UNFINISHED_AFTER_MS) announces it again
 * and, under revoke, deletes it. The audit entries of such a report are
 * lost (as with a lost reply of a single write before).
 *
 * `revoke` deletes the key pair (as auth.keys.revoke does): step 2 already
 * leaves the key with no usable secret (the current one the digest of
 * random bytes nobody holds; the reported one in the grace slot, its grace
 * over), step 4 deletes it. `expire` moves the leaked secret into the
 * grace slot, ending when the leak grace does, and leaves the key with no
 * usable current secret until generate_keys issues one (an older secret
 * still in its grace ends at once: the slot holds one); a leaked secret
 * already in the grace slot has its grace shortened to the leak grace. The
 * key remembers the secrets it saw reported (leaked_hashes), so a second
 * report of one changes nothing.
 *
 * leaked_secrets remembers, by SHA-256, the secrets ended here for
 * LEAKED_RETENTION_S, so a later report of one (GitHub reports every place
 * a token is found) is still known to be a real secret of ours. It holds
 * only digests of secrets that no longer work.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ObjectId, type Collection, type Db, type Document, type Filter } from 'mongodb';
import type { KeyDoc, KeyUsageDoc } from './keys.js';
import { onlyDuplicates } from '../errors.js';

export type LeakAction = 'revoke' | 'expire';

export interface LeakedSecretDoc {
  /** SHA-256 of the secret, hex: the same digest the key held. */
  _id: string;
  api_key: string;
  at: Date;
}

/** One reported secret: its digest (whatever api_key it was written with: the secret is what leaked). */
export interface LeakedSecret {
  hash: string;
}

export type LeakFound =
  /** No key has this secret, now or in its grace slot; `known`: it was ended here before (leaked_secrets). */
  | { key: null; known: boolean }
  /** The key held it, but nothing was ended for it now: no longer live, already ended by another report, or by another token of this one. */
  | { key: KeyDoc; ended: null }
  /** Ended now: revoked, or working until `until` (expire). */
  | { key: KeyDoc; ended: 'revoked' }
  | { key: KeyDoc; ended: 'expires'; until: Date };

/** A key whose cached copies must go (Storage announces it). */
export interface KeyChange {
  userId: ObjectId;
  apiKey: string;
}

/** How long a secret ended here is remembered as ours (90 days). */
export const LEAKED_RETENTION_S = 90 * 86_400;
/** Secrets a key remembers having seen reported (they are rare; the newest are what repeat). */
const REMEMBERED_PER_KEY = 10;
/** A report's stamp this old is one it did not finish with: no report takes this long. */
const UNFINISHED_AFTER_MS = 60_000;
/** Lookups of one report: the first, and again for what a concurrent change made it miss. */
const END_ROUNDS = 3;
/** The end of a grace that is over. */
const LONG_AGO = new Date(0);

type Slot = 'secret_hash' | 'previous_secret_hash';

export class LeakStore {
  constructor(
    private readonly keys: Collection<KeyDoc>,
    private readonly usage: Collection<KeyUsageDoc>,
    private readonly leaked: Collection<LeakedSecretDoc>,
    private readonly changed: (keys: readonly KeyChange[]) => Promise<void>,
  ) {}

  static async createIndexes(db: Db): Promise<void> {
    // A bare secret is found by its digest, current or previous.
    await db.collection('api_keys').createIndex({ secret_hash: 1 }, { name: 'secret_hash' }, undefined);
    await db.collection('api_keys').createIndex({ previous_secret_hash: 1 }, { name: 'previous_secret_hash' }, undefined);
    await db.collection('leaked_secrets').createIndex({ at: 1 }, { name: 'at_ttl', expireAfterSeconds: LEAKED_RETENTION_S }, undefined);
  }

  /**
   * Ends, by `action`, every live secret among `secrets` (one report), and
   * says for each what it found and did, in the same order. A digest given
   * twice (a bare secret and its key:secret) is ended once, for the first.
   * `graceSeconds` is how long `expire` leaves a secret working.
   * `alongside` is the caller's own writing about the results (the audit
   * entries), done at the same time as this store's.
   */
  async endMany(
    secrets: readonly LeakedSecret[],
    action: LeakAction,
    graceSeconds: number,
    alongside: (found: readonly LeakFound[]) => Promise<void> = () => Promise.resolve(),
  ): Promise<LeakFound[]> {
    if (secrets.length === 0) return [];
    const now = new Date();
    const report = new ObjectId().toHexString();
    const holders: (KeyDoc | undefined)[] = secrets.map(() => undefined);
    const known = new Set<string>();
    const ended = new Map<string, { key: KeyDoc; hash: string }>();
    // Rounds: the reported secrets still in doubt are looked up again after this round's writes.
    // A write conditional on a secret being live misses it when a rotation moved it into the
    // grace slot since it was found; found again, it is ended in its new slot (found by an
    // outside attacker: a report racing a rotation with a grace left the secret working).
    let doubt = secrets.map((_, i) => i);
    for (let round = 0; round < END_ROUNDS && doubt.length > 0; round++) {
      const hashes = [...new Set(doubt.map((i) => secrets[i]!.hash))];
      // Two finds, not one $or (each uses its index on every server; the local one scans the
      // collection for an $or), and one after the other: a secret only ever moves from the current
      // slot to the previous one (a rotation, an expire), so looking in that order finds it in one
      // of them even while it moves; looking at both at once could find it in neither.
      const [asCurrent, remembered] = await Promise.all([
        inChunks(hashes, (some) => this.keys.find({ secret_hash: { $in: some } }).toArray()),
        inChunks(hashes, (some) => this.leaked.find({ _id: { $in: some } }, { projection: { _id: 1 } }).toArray()),
      ]);
      const asPrevious = await inChunks(hashes, (some) => this.keys.find({ previous_secret_hash: { $in: some } }).toArray());
      const current = new Map(asCurrent.map((k) => [k.secret_hash, k]));
      const previous = new Map(asPrevious.map((k) => [k.previous_secret_hash!, k]));
      for (const d of remembered) known.add(d._id);

      // Each reported secret's key, and the keys to end, by slot.
      const toEnd = new Map<string, { key: KeyDoc; slot: Slot; hash: string }>();
      for (const i of doubt) {
        const { hash } = secrets[i]!;
        const key = current.get(hash) ?? previous.get(hash);
        if (!key) continue; // (one found in an earlier round and gone now was ended meanwhile: it stays the holder)
        holders[i] = key;
        const id = key._id.toHexString();
        if (ended.has(id)) continue;
        const slot = this.liveSlot(key, hash, action, new Date());
        // A key whose current secret is reported is ended by that: its previous one goes with it.
        if (slot && (!toEnd.has(id) || slot === 'secret_hash')) toEnd.set(id, { key, slot, hash });
      }
      const done = await this.endAndClaim([...toEnd.values()], action, graceSeconds, now, report);
      for (const [id, e] of done) ended.set(id, e);
      // In doubt still: found live, and missed by its write.
      doubt = doubt.filter((i) => {
        const { hash } = secrets[i]!;
        const key = holders[i];
        if (!key) return false;
        const id = key._id.toHexString();
        return toEnd.get(id)?.hash === hash && !done.has(id);
      });
    }

    // Keys a report ended and did not finish with (its events failed, or it was cut off): announced
    // again, and under revoke deleted. Only stamps older than any report takes, so a key in the
    // middle of another report is not announced twice (if one were, it would cost a read).
    const unfinished = new Map<string, KeyDoc>();
    const staleBefore = now.getTime() - UNFINISHED_AFTER_MS;
    for (const key of holders) {
      if (key?.leak_claims?.some((c) => c.at.getTime() < staleBefore) && !ended.has(key._id.toHexString())) unfinished.set(key._id.toHexString(), key);
    }

    // Each ended key's result goes to the first reported secret that named its digest.
    const endedHashes = new Set([...ended.values()].map((e) => e.hash));
    const told = new Set<string>();
    const results: LeakFound[] = [];
    for (const [i, key] of holders.entries()) {
      const hash = secrets[i]!.hash;
      const done = key ? ended.get(key._id.toHexString()) : undefined;
      if (!key) results.push({ key: null, known: known.has(hash) || endedHashes.has(hash) });
      else if (done?.hash !== hash || told.has(hash)) results.push({ key: done?.key ?? key, ended: null });
      else {
        told.add(hash);
        if (action === 'revoke') results.push({ key: done.key, ended: 'revoked' });
        else results.push({ key: done.key, ended: 'expires', until: done.key.previous_valid_until ?? new Date(now.getTime() + graceSeconds * 1000) });
      }
    }
    await Promise.all([this.record([...ended.values()], [...unfinished.values()], report, action, now), alongside(results)]);
    return results;
  }

  /** Where `hash` is live in `key`, as read: the slot a write conditional on the same will end, or null. */
  private liveSlot(key: KeyDoc, hash: string, action: LeakAction, now: Date): Slot | null {
    // Under expire a secret already reported is left as it is (its grace already the leak grace, or shorter).
    if (action === 'expire' && key.leaked_hashes?.includes(hash)) return null;
    if (key.secret_hash === hash) return 'secret_hash';
    if (key.previous_secret_hash === hash && (key.previous_valid_until?.getTime() ?? 0) > now.getTime()) return 'previous_secret_hash';
    return null;
  }

  /**
   * Steps 2 and 3 (see the top): ends what is still live of `toEnd`,
   * stamping it with a new report id, and reads back what was stamped: the
   * keys this report ended (as they are after the end) by _id, with the
   * digest ended on each. When each write changed as many keys as it was
   * given, they are all this report's, and the read back is skipped (the
   * usual case: only a concurrent report or a rotation in between makes
   * one miss).
   */
  private async endAndClaim(
    toEnd: readonly { key: KeyDoc; slot: Slot; hash: string }[],
    action: LeakAction,
    graceSeconds: number,
    now: Date,
    report: string,
  ): Promise<Map<string, { key: KeyDoc; hash: string }>> {
    const ended = new Map<string, { key: KeyDoc; hash: string }>();
    if (toEnd.length === 0) return ended;
    const until = new Date(now.getTime() + graceSeconds * 1000);
    // One write per slot and chunk (chunks hold one slot's keys: endFilter and endUpdate are per slot).
    const chunks = (['secret_hash', 'previous_secret_hash'] as const).flatMap((slot) => chunked(toEnd.filter((e) => e.slot === slot)));
    try {
      // Every write settled before any failure is announced: an event read while a write is still
      // in flight could let an instance cache the secret as live again, with no event after it.
      const writes = await settled(
        chunks.map((these) => () => this.keys.updateMany(endFilter(these, action, now), [{ $set: endUpdate(these[0]!.slot, action, report, until, now) }])),
      );
      if (writes.every((w, i) => w.modifiedCount === chunks[i]!.length)) {
        for (const { key, slot, hash } of toEnd) ended.set(key._id.toHexString(), { key: afterEnd(key, slot, action, until), hash });
      } else {
        const stamped = await inChunks(
          toEnd.map((e) => e.key._id),
          (ids) => this.keys.find({ _id: { $in: ids }, 'leak_claims.report': report }).toArray(),
        );
        for (const key of stamped) {
          ended.set(key._id.toHexString(), { key, hash: key.leak_claims!.find((c) => c.report === report)!.hash });
        }
      }
      return ended;
    } catch (err) {
      // Perhaps applied, its reply lost (see KeyStore.issueSecret): announce every key this report meant to end
      // (an event that changed nothing costs a read). A retry of the report finds them ended.
      await this.changed(toEnd.map((e) => ({ userId: e.key.user_id, apiKey: e.key.api_key })));
      throw err;
    }
  }

  /**
   * Step 4 (see the top): the events and caches; once the events are
   * written, leaked_secrets and then the tidy-up (which the answer does not
   * wait for), so a report whose events fail leaves its keys for the retry
   * to find and announce (`unfinished`: keys a report stamped and did not
   * tidy up; see endMany).
   */
  private async record(
    ended: readonly { key: KeyDoc; hash: string }[],
    unfinished: readonly KeyDoc[],
    report: string,
    action: LeakAction,
    now: Date,
  ): Promise<void> {
    const announced = [...ended.map((e) => e.key), ...unfinished];
    if (announced.length === 0) return;
    await this.changed(announced.map((k) => ({ userId: k.user_id, apiKey: k.api_key })));
    // Not waited for: the report is done once its keys are ended and announced; this was a third of
    // its time on the local database. The digests (an unfinished key's too) are remembered before
    // the keys go, so a later report of one finds the key or the digest; if they cannot be, the keys
    // stay (ended, no usable secret) for a later report to finish. Storage.close waits for it.
    const digests = [...ended, ...unfinished.flatMap((key) => (key.leak_claims ?? []).map((c) => ({ key, hash: c.hash })))];
    this.track(this.remember(digests, now).then((ok) => (ok ? this.tidy(ended, announced, report, action) : undefined)));
  }

  /**
   * Best effort: every secret ended no longer works whether or not this is
   * done (a key left behind under revoke has no usable secret, as under
   * expire; see `unfinished` in endMany). Under revoke only keys still
   * claimed are deleted: a rotation removes a key's claim (keys.ts), so a
   * key issued again since is kept, with its usage.
   */
  private async tidy(ended: readonly { key: KeyDoc }[], announced: readonly KeyDoc[], report: string, action: LeakAction): Promise<void> {
    await settled<unknown>(
      action === 'revoke'
        ? chunked(announced).map((some) => async () => {
            const { deletedCount } = await this.keys.deleteMany({ _id: { $in: some.map((k) => k._id) }, 'leak_claims.0': { $exists: true } });
            // Only a time, never reused; a chunk with a key kept keeps its usage (an orphan usage is harmless).
            if (deletedCount === some.length) await this.usage.deleteMany({ _id: { $in: some.map((k) => k.api_key) } });
          })
        : chunked(ended).map((some) => () => this.keys.updateMany({ _id: { $in: some.map((e) => e.key._id) } }, { $pull: { leak_claims: { report } } })),
    ).catch(() => undefined);
  }

  /** Work a report goes on with after its answer, until it is done (for close). */
  private readonly after = new Set<Promise<unknown>>();

  private track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.after.delete(tracked));
    this.after.add(tracked);
  }

  /** Waits for what reports go on with after their answers (the CLI's report, a shutdown). */
  async idle(): Promise<void> {
    while (this.after.size > 0) await Promise.all([...this.after]);
  }

  /**
   * Only what a later report of the same secret is told depends on it;
   * false when the digests may not be stored (a digest stored already, by an
   * earlier report, is no failure: it keeps its first record).
   */
  private async remember(ended: readonly { key: KeyDoc; hash: string }[], now: Date): Promise<boolean> {
    if (ended.length === 0) return true;
    const docs = [...new Map(ended.map(({ key, hash }) => [hash, { _id: hash, api_key: key.api_key, at: now }])).values()];
    try {
      await this.leaked.insertMany(docs, { ordered: false });
      return true;
    } catch (err) {
      return onlyDuplicates(err);
    }
  }
}

/**
 * The keys of `these` whose secret in `slot` is still what was reported
 * and still live, as the write applies. The digests are matched as a set,
 * not key by key (no $or: the local server scans for one): a digest is one
 * key's, so a key of these holding any of them holds its own.
 */
function endFilter(these: readonly { key: KeyDoc; slot: Slot; hash: string }[], action: LeakAction, now: Date): Filter<KeyDoc> {
  const slot = these[0]!.slot;
  const hashes = these.map((e) => e.hash);
  const filter: Filter<KeyDoc> = { _id: { $in: these.map((e) => e.key._id) }, [slot]: { $in: hashes } };
  if (slot === 'previous_secret_hash') filter.previous_valid_until = { $gt: now };
  if (action === 'expire') filter.leaked_hashes = { $nin: hashes };
  return filter;
}

/** `key` as endUpdate leaves it, in the fields a report's outcome shows. */
function afterEnd(key: KeyDoc, slot: Slot, action: LeakAction, until: Date): KeyDoc {
  if (action === 'revoke') return key;
  const graceEnd = slot === 'secret_hash' ? until : new Date(Math.min(key.previous_valid_until!.getTime(), until.getTime()));
  return { ...key, previous_valid_until: graceEnd };
}

/**
 * The end of the secret in `slot`, by `action`, and this report's stamp: one
 * pipeline stage, which reads the document as it is when the write applies
 * (every `$field` below is its value before the write).
 */
function endUpdate(slot: Slot, action: LeakAction, report: string, until: Date, now: Date): Document {
  const leaked = `$${slot}`;
  const claim = { report: { $literal: report }, hash: leaked, at: { $literal: now } };
  const stamp = {
    leak_claims: { $concatArrays: [{ $ifNull: ['$leak_claims', []] }, [claim]] },
    revision: { $add: [{ $ifNull: ['$revision', 0] }, 1] },
  };
  // The digest of random bytes nobody holds (one for the report's keys: nobody holds it for any of
  // them): no usable current secret until a rotation (or the deletion).
  const nobody = { $literal: createHash('sha256').update(randomBytes(32)).digest('hex') };
  // Dead at once, both secrets, until the deletion; the reported one stays in the grace slot, with its
  // grace over, so a retry of a report cut off before its events can find the key and announce it.
  if (action === 'revoke') return { ...stamp, secret_hash: nobody, previous_secret_hash: leaked, previous_valid_until: { $literal: LONG_AGO } };
  const remembered = { leaked_hashes: { $slice: [{ $concatArrays: [{ $ifNull: ['$leaked_hashes', []] }, [leaked]] }, -REMEMBERED_PER_KEY] } };
  if (slot === 'secret_hash') {
    // Into the grace slot, ending with the leak grace (an older secret there ends at once: the slot holds one).
    return { ...stamp, ...remembered, secret_hash: nobody, previous_secret_hash: leaked, previous_valid_until: { $literal: until } };
  }
  // Already in the grace slot: its grace ends no later than the leak grace.
  return { ...stamp, ...remembered, previous_valid_until: { $min: ['$previous_valid_until', { $literal: until }] } };
}

/**
 * A report's lists go to the database in chunks of IN_CHUNK, all at once:
 * the local server (secantusdb) spends time on an `$in` that grows faster
 * than its length (measured on 1,000 keys: finding 500 by digest took 556 ms
 * in one query, 115 ms in chunks of 50; ending them 2,172 ms in one
 * updateMany, 750 ms in chunks of 25 to 50; deleting them with their usage
 * 2,114 ms, 465 ms in chunks of 25). On MongoDB it costs a few more round
 * trips, sent together.
 */
export const IN_CHUNK = 32;

function chunked<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += IN_CHUNK) out.push(items.slice(i, i + IN_CHUNK));
  return out;
}

/** At most this many chunks of one step in flight: a report of 100,000 tokens must not take the pool. */
const CHUNKS_AT_ONCE = 8;

/** A find over `items` in chunks, CHUNKS_AT_ONCE at a time: every chunk's results, in order. */
async function inChunks<T, R>(items: readonly T[], find: (some: T[]) => Promise<R[]>): Promise<R[]> {
  return (await settled(chunked(items).map((some) => () => find(some)))).flat();
}

/**
 * Runs `work`, CHUNKS_AT_ONCE at a time, and waits for every one to settle
 * before it answers: the results in order, or the first failure.
 */
async function settled<R>(work: readonly (() => Promise<R>)[]): Promise<R[]> {
  const out = new Array<R>(work.length);
  let failure: { err: unknown } | undefined;
  let next = 0;
  const run = async () => {
    while (next < work.length) {
      const i = next++;
      try {
        out[i] = await work[i]!();
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHUNKS_AT_ONCE, work.length) }, run));
  if (failure) throw failure.err;
  return out;
}
