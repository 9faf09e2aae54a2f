/**
 * The key_events collection: one document per write that can end or narrow
 * a credential (a rotation, a revocation, a key update, a user update or
 * deletion), and, later, per client blocked by the failure limits. Every
 * instance follows it (src/auth/event-feed.ts) and drops what it cached of
 * the named key or user, so a change made through one instance reaches the
 * caches of all the others.
 *
 * `at` is the database server's clock ($$NOW), never an instance's: the
 * pollers compare it across instances, and cleanup compares it with the
 * server's time, so a skewed instance clock cannot make an event look older
 * or newer than it is.
 */
import { ObjectId, type ChangeStream, type ChangeStreamInsertDocument, type Collection, type Db, type ResumeToken } from 'mongodb';
import { LRUCache } from 'lru-cache';
import { onlyDuplicates } from '../errors.js';

export type KeyEventKind = 'key' | 'user' | 'client_blocked';

/** The stored shape: the contract shared with every writer of events. */
export interface KeyEventDoc {
  _id: ObjectId;
  /** When the event was written, by the database server's clock. */
  at: Date;
  kind: KeyEventKind;
  /** kind 'key': the key that changed. */
  api_key?: string;
  /** kind 'key' and 'user': whose credentials changed. */
  user_id?: ObjectId;
  /** kind 'client_blocked': the client (an address, or a verifying token) and until when. */
  client?: string;
  until?: Date;
}

export type NewKeyEvent = Omit<KeyEventDoc, '_id' | 'at'>;

/** Events recorded by this process, remembered so its own feed can skip them. */
const OWN_REMEMBERED = 10_000;

export class KeyEvents {
  private readonly own = new LRUCache<string, true>({ max: OWN_REMEMBERED });

  constructor(
    private readonly events: Collection<KeyEventDoc>,
    private readonly db: Db,
    /** maxTimeMS of the change stream's opening aggregate (the collection adds it to everything else). */
    private readonly opTimeoutMs: number,
  ) {}

  static async createIndexes(db: Db): Promise<void> {
    // The pollers' query and cleanup's both range over `at`.
    await db.collection('key_events').createIndex({ at: 1 }, { name: 'at_asc' }, undefined);
  }

  /**
   * Writes one event, stamped with the server's clock. An upsert on a _id
   * chosen here, so trying again after a lost reply writes it once, and
   * keeps the first `at` ($ifNull). Tried twice; if both fail, the caller's
   * call fails (see Storage: a change must never go unannounced).
   */
  async record(event: NewKeyEvent): Promise<ObjectId> {
    const _id = new ObjectId();
    const fields: Record<string, unknown> = { at: { $ifNull: ['$at', '$$NOW'] } };
    // $literal: a value starting with "$" must never be read as a field path.
    for (const [name, value] of Object.entries(event)) fields[name] = { $literal: value };
    const write = () => this.events.updateOne({ _id }, [{ $set: fields }], { upsert: true });
    this.own.set(_id.toHexString(), true);
    try {
      await write();
    } catch {
      await write();
    }
    return _id;
  }

  /**
   * Writes many events in one insertMany (a leak report ends hundreds of
   * keys at once; an upsert per event, as record() does, costs twice the
   * time on the local server). An insert cannot evaluate $$NOW, so each
   * attempt first asks the server its clock (hello's localTime, as prune
   * does) and stamps every event with it: still the server's clock, read
   * one round trip before the write begins, so the pollers' overlap covers
   * it as it covers record()'s stamp (event-readers.ts). Unordered, on
   * _ids chosen here: trying again after a lost reply writes each event
   * once, an event written by the first attempt keeps its `at` (its _id is
   * taken: a duplicate, not an error) and the others get a fresh one. Tried
   * twice; if both fail, the caller's call fails, as with record().
   */
  async recordMany(events: readonly NewKeyEvent[]): Promise<ObjectId[]> {
    const docs = events.map((event) => ({ ...event, _id: new ObjectId() }));
    if (docs.length === 0) return [];
    for (const doc of docs) this.own.set(doc._id.toHexString(), true);
    const write = async () => {
      const at = await this.serverNow();
      try {
        await this.events.insertMany(
          docs.map((doc) => ({ ...doc, at })),
          { ordered: false },
        );
      } catch (err) {
        if (!onlyDuplicates(err)) throw err;
      }
    };
    try {
      await write();
    } catch {
      await write();
    }
    return docs.map((doc) => doc._id);
  }

  /** The database server's clock (hello's localTime). */
  private async serverNow(): Promise<Date> {
    const now = await this.helloTime();
    if (!now) throw new Error('the database server did not say its time (hello.localTime)');
    return now;
  }

  /** hello's localTime, or undefined when the server does not say it. */
  private async helloTime(): Promise<Date | undefined> {
    const hello = await this.db.admin().command({ hello: 1 });
    return hello.localTime instanceof Date ? hello.localTime : undefined;
  }

  /** True when this process wrote the event (its caches already knew of the change). */
  recordedHere(id: ObjectId): boolean {
    return this.own.has(id.toHexString());
  }

  /** Events at or after `from` (server clock), oldest first; all of them without `from`. */
  from(from: Date | null): AsyncIterable<KeyEventDoc> {
    return this.events.find(from ? { at: { $gte: from } } : {}).sort({ at: 1, _id: 1 });
  }

  /** The newest event's time, or null when there is none. */
  async latest(): Promise<Date | null> {
    const newest = await this.events
      .find({}, { projection: { at: 1 } })
      .sort({ at: -1 })
      .limit(1)
      .toArray();
    return newest[0]?.at ?? null;
  }

  /**
   * A change stream of new events, from `resumeAfter` when given (not undefined). The server
   * answers an empty batch every `maxAwaitTimeMS` when nothing happens: that
   * is how the feed knows the stream is alive.
   */
  watch(resumeAfter: ResumeToken, maxAwaitTimeMS: number): ChangeStream<KeyEventDoc, ChangeStreamInsertDocument<KeyEventDoc>> {
    return this.events.watch<KeyEventDoc, ChangeStreamInsertDocument<KeyEventDoc>>([{ $match: { operationType: 'insert' } }], {
      maxAwaitTimeMS,
      maxTimeMS: this.opTimeoutMs,
      ...(resumeAfter ? { resumeAfter } : {}),
    });
  }

  /** Whether the server has change streams: a replica set member or a mongos. */
  async changeStreamsPossible(): Promise<boolean> {
    const hello = await this.db.admin().command({ hello: 1 });
    return typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
  }

  /**
   * Removes events older than `retentionMs` by the server's clock (its
   * hello reply's localTime; $$NOW in a query filter is not understood by
   * every server we run on). Returns how many went.
   */
  async prune(retentionMs: number): Promise<number> {
    const now = (await this.helloTime())?.getTime() ?? Date.now();
    const { deletedCount } = await this.events.deleteMany({ at: { $lt: new Date(now - retentionMs) } });
    return deletedCount;
  }
}
