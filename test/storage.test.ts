import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { nanoid } from 'nanoid';
import { Storage } from '../src/store/storage.js';
import { toAppError } from '../src/errors.js';

describe('storage', () => {
  const uri = () => process.env.MONGODB_URI!;

  it('creates the unique indexes and one Administrator, even when 5 instances start at once', async () => {
    const dbName = `test_${nanoid(8).replace(/-/g, '_')}`;
    const opened = await Promise.all(Array.from({ length: 5 }, () => Storage.open(uri(), dbName, 5000)));
    try {
      const db = opened[0]!.db;
      const admins = await db.collection('users').find({ name: 'Administrator' }).toArray();
      expect(admins).to.have.length(1);
      expect(admins[0]!.roles).to.deep.equal(['System Manager']);
      const unique = async (coll: string) =>
        (await db.collection(coll).listIndexes().toArray()).filter((i) => i.unique).map((i) => Object.keys(i.key).join(','));
      expect(await unique('users')).to.deep.equal(['name']);
      expect((await unique('api_keys')).sort()).to.deep.equal(['api_key', 'user_id']);
    } finally {
      await opened[0]!.db.dropDatabase();
      await Promise.all(opened.map((s) => s.close()));
    }
  });

  it('refuses a second user with the same name at the index, not only in code', async () => {
    const dbName = `test_${nanoid(8).replace(/-/g, '_')}`;
    const storage = await Storage.open(uri(), dbName, 5000);
    try {
      const err = await storage.db
        .collection('users')
        .insertOne({ name: 'Administrator' })
        .catch((e: unknown) => e);
      expect((err as { code?: number }).code).to.equal(11000);
    } finally {
      await storage.db.dropDatabase();
      await storage.close();
    }
  });

  it('reports an unreachable server as storage unavailable (-32050) within the timeout', async () => {
    const client = new MongoClient('mongodb://127.0.0.1:9/', { serverSelectionTimeoutMS: 300 });
    const started = Date.now();
    const err = await client
      .db('x')
      .collection('y')
      .findOne({})
      .catch((e: unknown) => e);
    expect(Date.now() - started).to.be.below(5000);
    expect(toAppError(err).toRpc()).to.deep.equal({ code: -32050, message: 'Storage unavailable' });
    await client.close();
  });
});
