import type { Collection, Filter, ObjectId } from 'mongodb';
import { AppError, isDuplicateKey } from '../errors.js';
import type { KeyStore } from './keys.js';

export const ADMINISTRATOR = 'Administrator';
export const SYSTEM_MANAGER = 'System Manager';

export interface UserDoc {
  _id: ObjectId;
  name: string;
  full_name: string;
  roles: string[];
  enabled: boolean;
  created_at: Date;
  modified_at: Date;
}

/** What callers see of a user: no internal ids, dates as ISO strings. */
export interface PublicUser {
  name: string;
  full_name: string;
  roles: string[];
  enabled: boolean;
  created_at: string;
  modified_at: string;
}

export function publicUser(u: UserDoc): PublicUser {
  return {
    name: u.name,
    full_name: u.full_name,
    roles: u.roles,
    enabled: u.enabled,
    created_at: u.created_at.toISOString(),
    modified_at: u.modified_at.toISOString(),
  };
}

export interface NewUser {
  name: string;
  full_name?: string | undefined;
  roles?: string[] | undefined;
  enabled?: boolean | undefined;
}

export type UserChanges = Partial<Pick<UserDoc, 'full_name' | 'roles' | 'enabled'>>;

/** The parts of a query built by user-query.ts (its UserQuery) that the store runs. */
export interface UserListQuery {
  filter: Record<string, unknown>;
  sort: Record<string, 1 | -1>;
  projection: Record<string, 0 | 1>;
}

export class UserStore {
  constructor(
    private readonly users: Collection<UserDoc>,
    /** Asked for users' api_keys, which live in its collection, not here. */
    private readonly keys: Pick<KeyStore, 'apiKeysOf'>,
    private readonly changed: (userId: ObjectId) => Promise<void>,
  ) {}

  /** Creates the user if missing; never touches an existing one. */
  async ensure(name: string, roles: string[]): Promise<void> {
    const now = new Date();
    await this.users.updateOne(
      { name },
      { $setOnInsert: { name, full_name: name, roles, enabled: true, created_at: now, modified_at: now } },
      { upsert: true },
    );
  }

  async create(input: NewUser): Promise<UserDoc> {
    const now = new Date();
    const doc = {
      name: input.name,
      full_name: input.full_name ?? input.name,
      roles: input.roles ?? [],
      enabled: input.enabled ?? true,
      created_at: now,
      modified_at: now,
    };
    try {
      const { insertedId } = await this.users.insertOne(doc as UserDoc);
      return { ...doc, _id: insertedId };
    } catch (err) {
      if (isDuplicateKey(err)) throw new AppError('conflict', `User ${input.name} already exists`);
      throw err;
    }
  }

  async find(name: string): Promise<UserDoc | null> {
    return this.users.findOne({ name });
  }

  async findById(id: ObjectId): Promise<UserDoc | null> {
    return this.users.findOne({ _id: id });
  }

  async get(name: string): Promise<UserDoc> {
    const user = await this.find(name);
    if (!user) throw new AppError('not_found', `User ${name} not found`);
    return user;
  }

  /**
   * A page of users matching a query built by user-query.ts (only known
   * fields and its own operators). The projection keeps to public fields, so
   * no internal id ever leaves here; the documents hold only those fields.
   */
  async list(query: UserListQuery, start: number, limit: number): Promise<Partial<UserDoc>[]> {
    return this.users
      .find(query.filter as Filter<UserDoc>, { projection: query.projection })
      .sort(query.sort)
      .skip(start)
      .limit(limit)
      .toArray();
  }

  /** How many users match a query built by user-query.ts (frappe.client.get_count). */
  async count(query: Pick<UserListQuery, 'filter'>): Promise<number> {
    return this.users.countDocuments(query.filter);
  }

  /** Which of these names are taken. */
  async existing(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const found = await this.users.find({ name: { $in: [...names] } }, { projection: { _id: 0, name: 1 } }).toArray();
    return found.map((u) => u.name);
  }

  /**
   * The api_key of each named user that has one (Frappe shows it on the User
   * document; the secret never). Keys are found by the user's _id, as the
   * token check finds them, so a key left behind by a deleted namesake is
   * never shown as this user's.
   */
  async apiKeys(names: readonly string[]): Promise<Map<string, string>> {
    if (names.length === 0) return new Map();
    const users = await this.users.find({ name: { $in: [...names] } }, { projection: { _id: 1, name: 1 } }).toArray();
    return this.keys.apiKeysOf(users);
  }

  async update(name: string, changes: UserChanges): Promise<UserDoc> {
    let user: UserDoc | null;
    try {
      user = await this.users.findOneAndUpdate({ name }, { $set: { ...changes, modified_at: new Date() } }, { returnDocument: 'after' });
    } catch (err) {
      await this.forgetOnFailure(name);
      throw err;
    }
    if (!user) throw new AppError('not_found', `User ${name} not found`);
    await this.changed(user._id);
    return user;
  }

  /**
   * A write whose reply was lost may still have been applied: tell the
   * caches as if it had been. If even the lookup fails, there is nothing more
   * to do here (the cache's TTL bounds the rest).
   */
  private async forgetOnFailure(name: string): Promise<void> {
    const user = await this.users.findOne({ name }).catch(() => null);
    if (user) await this.changed(user._id);
  }

  /**
   * Removes the user, and returns it so that the caller removes its keys
   * next (KeyStore.deleteOwnedBy: the key store deletes its own documents).
   * Without transactions a user deletion is two writes, and the first is
   * this one: keys point at the user's _id, so once the user is gone they
   * authenticate nobody, and a user created later under the same name gets a
   * new _id and never inherits them. Should the second write fail, the
   * deletion has still happened, so the caller reports it as done; the keys
   * left behind are removed the first time one is presented.
   */
  async delete(name: string): Promise<UserDoc> {
    let user: UserDoc | null;
    try {
      user = await this.users.findOneAndDelete({ name });
    } catch (err) {
      await this.forgetOnFailure(name);
      throw err;
    }
    if (!user) throw new AppError('not_found', `User ${name} not found`);
    await this.changed(user._id);
    return user;
  }
}
