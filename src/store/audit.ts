import type { Collection, Filter, ObjectId } from 'mongodb';

export type AuditAction = 'user.create' | 'user.update' | 'user.delete' | 'keys.generate' | 'keys.rotate' | 'keys.update' | 'keys.revoke' | 'key.leaked';

/** One change, who made it and from where. Never a secret: there is no field that could hold one. */
export interface AuditEntry {
  at: Date;
  /** The caller's user name (Administrator for the command line). */
  actor: string;
  action: AuditAction;
  /** The user changed, or whose key was. */
  target: string;
  api_key?: string;
  address: string;
  request_id: string;
  /** key.leaked: where the secret was found, and who found it (never the secret: see methods/leaks.ts). */
  url?: string;
  source?: string;
}

export interface PublicAuditEntry extends Omit<AuditEntry, 'at'> {
  at: string;
}

export class AuditStore {
  constructor(private readonly entries: Collection<AuditEntry & { _id?: ObjectId }>) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.entries.insertOne({ ...entry });
  }

  /** Many entries in one write (a leak report's). */
  async recordMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length > 0) await this.entries.insertMany(entries.map((entry) => ({ ...entry })));
  }

  /** Newest first; `user` matches the actor or the target. */
  async list(start: number, limit: number, user?: string, action?: AuditAction): Promise<PublicAuditEntry[]> {
    const filter: Filter<AuditEntry> = {};
    if (user !== undefined) filter.$or = [{ actor: user }, { target: user }];
    if (action !== undefined) filter.action = action;
    const docs = await this.entries.find(filter).sort({ at: -1, _id: -1 }).skip(start).limit(limit).toArray();
    return docs.map(({ _id, at, ...rest }) => ({ ...rest, at: at.toISOString() }));
  }
}
