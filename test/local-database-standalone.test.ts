/**
 * The local database started standalone (startLocalDatabase's `standalone`):
 * what the benchmark's and the tests' polling path stand on. It must look
 * like a standalone mongod to the driver and refuse change streams as one
 * does; the default start stays a replica set. Runs its own servers whatever
 * MONGODB_URI says.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient, MongoServerError } from 'mongodb';
import { startLocalDatabase, type LocalDatabase } from '../src/localdb/index.js';
import { unavailableReason } from '../src/localdb/secantusdb.js';
import { skipBecause } from './harness.js';

describe('the local database started standalone', function () {
  this.timeout(180_000); // the first run on a machine installs secantusdb
  let dir: string;
  let db: LocalDatabase | undefined;

  before(async function () {
    const missing = await unavailableReason();
    if (missing) skipBecause(this, `no local database can run here: ${missing}`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-standalone-'));
  });
  after(async () => {
    await db?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names no replica set, refuses change streams (40573) and still reads and writes', async () => {
    db = await startLocalDatabase({ dataDir: dir, advertise: false, standalone: true, progress: () => {} });
    const client = await MongoClient.connect(db.uri, { serverSelectionTimeoutMS: 5000 });
    try {
      const hello = await client.db('admin').command({ hello: 1 });
      expect(hello.setName, 'a standalone server names no replica set').to.equal(undefined);
      expect(hello.isWritablePrimary).to.equal(true);
      const things = client.db('standalone_test').collection('things');
      await things.insertOne({ a: 1 });
      expect(await things.countDocuments({ a: 1 })).to.equal(1);
      const stream = things.watch();
      const err = await stream.tryNext().then(
        () => undefined,
        (e: unknown) => e,
      );
      await stream.close();
      expect(err, 'a change stream on a standalone server fails').to.be.instanceOf(MongoServerError);
      expect((err as MongoServerError).code).to.equal(40573);
    } finally {
      await client.close();
    }
  });
});
