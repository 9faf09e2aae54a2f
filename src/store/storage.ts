/**
 * MongoDB access through the official driver, for MongoDB 4.2 or newer
 * (update pipelines), standalone or replica set: no transactions, and change
 * streams only where the server has them (key-events.ts is also polled).
 * Keys live in their own collection so a user without keys never sits in
 * the unique api_key index.
 */
import { MongoClient, type Collection, type Db, type Document, type ObjectId } from 'mongodb';
import { isDuplicateKey } from '../errors.js';
import { UserStore, ADMINISTRATOR, SYSTEM_MANAGER } from './users.js';
import { KeyStore } from './keys.js';
import { AuditStore } from './audit.js';
import { FailureCountStore } from './failure-counts.js';
import { KeyEvents } from './key-events.js';
import { LeakStore } from './leaks.js';

/**
 * Told the _id of every user whose record or key was just written (and the
 * api_key, for a key). The write's caller waits for every listener, so a
 * change is in force everywhere it must be before anyone hears it is done.
 * Other instances hear of it through key_events (see Storage's constructor).
 */
export type ChangeListener = (userId: ObjectId, apiKey?: string) => void | Promise<void>;

export class Storage {
  readonly users: UserStore;
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  /** Failed-authentication counts shared by the instances (src/auth/guess-limits.ts). */
  readonly failureCounts: FailureCountStore;
  readonly keyEvents: KeyEvents;
  /** Ending leaked secrets (src/methods/leaks.ts). */
  readonly leaks: LeakStore;
  private readonly listeners: ChangeListener[] = [];

  private constructor(
    readonly client: MongoClient,
    readonly db: Db,
    /** The server-side time limit (maxTimeMS) of every operation. */
    readonly opTimeoutMs: number,
  ) {
    const collection = <T extends Document>(name: string) => timeLimited(db.collection<T>(name), opTimeoutMs);
    this.keyEvents = new KeyEvents(collection('key_events'), db, opTimeoutMs);
    /*
     * Every write to a user or key, once it succeeded (or may have: a lost
     * reply), is announced to this process's listeners and recorded in
     * key_events for the other instances, and the write's call waits for
     * both. The guarantee: a call that reports a change done has recorded
     * its event. If the event cannot be written (tried twice), the call
     * fails (-32050) although its write happened: its caller sees a failure
     * and tries again, and the retry's event covers both writes. The other
     * way round costs little: an event whose write failed or changed
     * nothing only makes the other instances read one key again.
     */
    const changed = async (userId: ObjectId, apiKey?: string) => {
      const event = apiKey ? ({ kind: 'key', api_key: apiKey, user_id: userId } as const) : ({ kind: 'user', user_id: userId } as const);
      await Promise.all([...this.listeners.map((l) => Promise.resolve(l(userId, apiKey))), this.keyEvents.record(event)]);
    };
    this.keys = new KeyStore(collection('api_keys'), collection('key_usage'), changed);
    this.users = new UserStore(collection('users'), this.keys, changed);
    /*
     * The same for the keys a leak report ended, many at once: one write of
     * their events. The listeners hear of each by its owner alone (a user
     * has one key), which drops it from the caches without reading it again
     * at once, as they do after a rotation so its new secret works at the
     * next call: an ended key has no new secret to read (revoked: gone;
     * expire: none until a rotation), and hundreds of reads would follow a
     * report for nothing.
     */
    const changedKeys = async (keys: readonly { userId: ObjectId; apiKey: string }[]) => {
      if (keys.length === 0) return;
      const events = keys.map((k) => ({ kind: 'key', api_key: k.apiKey, user_id: k.userId }) as const);
      const told = keys.flatMap((k) => this.listeners.map((l) => Promise.resolve(l(k.userId))));
      await Promise.all([...told, this.keyEvents.recordMany(events)]);
    };
    this.leaks = new LeakStore(collection('api_keys'), collection('key_usage'), collection('leaked_secrets'), changedKeys);
    this.audit = new AuditStore(collection('audit_log'));
    this.failureCounts = new FailureCountStore(collection('failure_counts'), this.keyEvents);
  }

  /**
   * Connects and prepares the database. `timeoutMs` bounds how long any call
   * waits for an unreachable server (the driver's default is 30 s) before
   * failing with "storage unavailable"; `opTimeoutMs` is how long the server
   * may work on any one operation (maxTimeMS) before it gives up (-32050 too).
   */
  static async open(uri: string, dbName: string, timeoutMs: number, opTimeoutMs = timeoutMs): Promise<Storage> {
    const client = new MongoClient(uri, {
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
      // A socket silent this long means a hung server. Longer than the
      // operations' own time limit: a slow query should be stopped by the
      // server (which then stops working on it, and keeps the connection),
      // not abandoned by us while the server carries on.
      socketTimeoutMS: Math.max(timeoutMs, opTimeoutMs + 1000),
      appName: 'tokenauth',
    });
    await client.connect();
    const storage = new Storage(client, client.db(dbName), opTimeoutMs);
    try {
      await storage.prepare();
    } catch (err) {
      await client.close();
      throw err;
    }
    storage.failureCounts.startCleanup();
    return storage;
  }

  /** Indexes and the first System Manager; safe to run from many instances at once. */
  private async prepare(): Promise<void> {
    // Index options, then the command's (none): the two-argument form, which mixes them, is deprecated.
    await this.db.collection('users').createIndex({ name: 1 }, { unique: true, name: 'name_unique' }, undefined);
    await this.db.collection('api_keys').createIndex({ api_key: 1 }, { unique: true, name: 'api_key_unique' }, undefined);
    await this.db.collection('api_keys').createIndex({ user_id: 1 }, { unique: true, name: 'user_id_unique' }, undefined);
    await this.db.collection('audit_log').createIndex({ at: -1 }, { name: 'at_desc' }, undefined);
    await this.db.collection('failure_counts').createIndex({ expires_at: 1 }, { name: 'expires_at' }, undefined);
    await KeyEvents.createIndexes(this.db);
    await LeakStore.createIndexes(this.db);
    try {
      await this.users.ensure(ADMINISTRATOR, [SYSTEM_MANAGER]);
    } catch (err) {
      // Two instances starting together both upsert; the unique index keeps one.
      if (!isDuplicateKey(err)) throw err;
    }
  }

  /**
   * Every write to a user or a key is announced here, after it is stored, so
   * caches (the token check's) can never miss one.
   */
  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  /** True when the database answers within the configured timeout. */
  async ping(): Promise<boolean> {
    try {
      await this.db.command({ ping: 1, maxTimeMS: this.opTimeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.failureCounts.stopCleanup();
    await this.leaks.idle(); // what leak reports go on with after their answers (tokenauth report-leak closes at once)
    await this.client.close();
  }
}

/**
 * Where each Collection method the stores may call takes its options. The
 * driver has no client-wide time limit any more (7.x ignores `timeoutMS`), so
 * every operation gets `maxTimeMS` here, in one place, rather than at each
 * call site in the stores; test/db-timeouts.test.ts watches the commands
 * sent to prove none goes without.
 */
const OPTIONS_AT = {
  find: 1,
  findOne: 1,
  countDocuments: 1,
  estimatedDocumentCount: 0,
  aggregate: 1,
  // Not distinct: FerretDB 1.24 refuses it with maxTimeMS ("unknown field"); use aggregate.
  insertOne: 1,
  insertMany: 1,
  updateOne: 2,
  updateMany: 2,
  replaceOne: 2,
  deleteOne: 1,
  deleteMany: 1,
  findOneAndUpdate: 2,
  findOneAndReplace: 2,
  findOneAndDelete: 1,
} as const satisfies Partial<Record<keyof Collection, number>>;

/**
 * The collection with `maxTimeMS` added to the options of every operation
 * (an explicit one given by the caller wins). An object inheriting from the
 * collection, with these methods as its own: everything else is the
 * collection's, and the cost per call is one small options object.
 */
function timeLimited<T extends Document>(collection: Collection<T>, maxTimeMS: number): Collection<T> {
  const limited = Object.create(collection) as Collection<T>;
  for (const [name, at] of Object.entries(OPTIONS_AT)) {
    const op = (collection as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
    Object.defineProperty(limited, name, {
      value(...args: unknown[]) {
        args[at] = { maxTimeMS, ...(args[at] as object | undefined) };
        return op.apply(collection, args);
      },
      writable: true, // tests replace a method to simulate a lost reply
      configurable: true,
    });
  }
  return limited;
}
