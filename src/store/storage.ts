/**
 * MongoDB access through the official driver, for MongoDB 4.2 or newer
 * (update pipelines), standalone or replica set: no transactions and no
 * change streams, which a standalone server lacks. Keys live in their own
 * collection so a user without keys never sits in the unique api_key index.
 */
import { MongoClient, type Db, type ObjectId } from 'mongodb';
import { isDuplicateKey } from '../errors.js';
import { UserStore, ADMINISTRATOR, SYSTEM_MANAGER } from './users.js';
import { KeyStore } from './keys.js';
import { AuditStore } from './audit.js';

/**
 * Told the _id of every user whose record or key was just written (and the
 * api_key, for a key). The write's caller waits for every listener, so a
 * change is in force everywhere it must be before anyone hears it is done.
 */
export type ChangeListener = (userId: ObjectId, apiKey?: string) => void | Promise<void>;

export class Storage {
  readonly users: UserStore;
  readonly keys: KeyStore;
  readonly audit: AuditStore;
  private readonly listeners: ChangeListener[] = [];

  private constructor(
    readonly client: MongoClient,
    readonly db: Db,
  ) {
    const changed = async (userId: ObjectId, apiKey?: string) => {
      await Promise.all(this.listeners.map((l) => l(userId, apiKey)));
    };
    this.users = new UserStore(db.collection('users'), db.collection('api_keys'), changed);
    this.keys = new KeyStore(db.collection('api_keys'), db.collection('key_usage'), changed);
    this.audit = new AuditStore(db.collection('audit_log'));
  }

  /**
   * Connects and prepares the database. `timeoutMs` bounds how long any call
   * waits for an unreachable server (the driver's default is 30 s) before
   * failing with "storage unavailable".
   */
  static async open(uri: string, dbName: string, timeoutMs: number): Promise<Storage> {
    const client = new MongoClient(uri, {
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
      // A socket silent this long means a hung server (our queries are single-document and quick).
      socketTimeoutMS: timeoutMs,
      appName: 'tokenauth',
    });
    await client.connect();
    const storage = new Storage(client, client.db(dbName));
    try {
      await storage.prepare();
    } catch (err) {
      await client.close();
      throw err;
    }
    return storage;
  }

  /** Indexes and the first System Manager; safe to run from many instances at once. */
  private async prepare(): Promise<void> {
    await this.db.collection('users').createIndex({ name: 1 }, { unique: true, name: 'name_unique' });
    await this.db.collection('api_keys').createIndex({ api_key: 1 }, { unique: true, name: 'api_key_unique' });
    await this.db.collection('api_keys').createIndex({ user_id: 1 }, { unique: true, name: 'user_id_unique' });
    await this.db.collection('audit_log').createIndex({ at: -1 }, { name: 'at_desc' });
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
      await this.db.command({ ping: 1 });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
