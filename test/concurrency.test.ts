/**
 * What MongoDB promises under concurrency, and what the service builds on
 * it: single-document atomicity, unique indexes, $max, update pipelines.
 * A database that loses concurrent updates (FerretDB 1.24 did: every one of
 * 60 conditional $inc on a counter of 25 "succeeded") fails the first test,
 * and would let the others pass by luck or fail them at random.
 */
import { expect } from 'chai';
import { MongoClient, type Db } from 'mongodb';
import { nanoid } from 'nanoid';
import { hashSecret, newApiSecret } from '../src/auth/token.js';
import type { KeyDoc } from '../src/store/keys.js';
import { useService, startInstance, bearer, tokenOf, expectError, expectResult, replicaSetName, skipBecause, ISSUED_SECRETS } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('the database keeps its promises under concurrency', function () {
  this.timeout(60_000);
  const clients: MongoClient[] = [];
  let db: Db;

  before(async () => {
    for (let i = 0; i < 2; i++) clients.push(await MongoClient.connect(process.env.MONGODB_URI!));
    db = clients[0]!.db(`test_${nanoid(10).replace(/-/g, '_')}`);
  });
  after(async () => {
    // Unset when before() failed, whatever the declaration says.
    await (db as Db | undefined)?.dropDatabase();
    await Promise.all(clients.map((c) => c.close()));
  });

  it('60 conditional $inc on a counter of 25, from two clients: exactly 25 succeed, and it ends at 0', async () => {
    const counters = clients.map((c) => c.db(db.databaseName).collection<{ _id: string; remaining: number }>('counters'));
    await counters[0]!.insertOne({ _id: 'c', remaining: 25 });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => counters[i % 2]!.updateOne({ _id: 'c', remaining: { $gt: 0 } }, { $inc: { remaining: -1 } })),
    );
    expect(results.filter((r) => r.modifiedCount === 1)).to.have.length(25);
    expect((await counters[0]!.findOne({ _id: 'c' }))!.remaining).to.equal(0);
  });

  describe('on a replica set', () => {
    before(async function () {
      if (!(await replicaSetName(db))) skipBecause(this, 'the server is standalone: no change streams or transactions');
    });

    it('a change stream sees a write made after it opened', async () => {
      const coll = db.collection('watched');
      await coll.insertOne({ warm: true }); // the collection exists before the stream opens
      const stream = coll.watch();
      try {
        const next = stream.next();
        // The stream's cursor is opened by the first next(); give it a moment before writing.
        await new Promise((r) => setTimeout(r, 300));
        await coll.insertOne({ seen: 1 });
        const change = await next;
        expect(change.operationType).to.equal('insert');
        expect((change as { fullDocument?: { seen?: number } }).fullDocument?.seen).to.equal(1);
      } finally {
        await stream.close();
      }
    });

    it('a transaction writes all or nothing', async () => {
      const a = db.collection('tx_a');
      const b = db.collection('tx_b');
      await Promise.all([a.insertOne({ warm: true }), b.insertOne({ warm: true })]);
      const session = clients[0]!.startSession();
      try {
        await session.withTransaction(async () => {
          await a.insertOne({ n: 1 }, { session });
          await b.insertOne({ n: 1 }, { session });
        });
        session.startTransaction();
        await a.insertOne({ n: 2 }, { session });
        await b.insertOne({ n: 2 }, { session });
        await session.abortTransaction();
      } finally {
        await session.endSession();
      }
      expect(await a.countDocuments({ n: { $exists: true } })).to.equal(1);
      expect(await b.countDocuments({ n: { $exists: true } })).to.equal(1);
    });
  });
});

describe('the service under concurrent writes', function () {
  this.timeout(120_000);
  const svc = useService({ maxGraceSeconds: 3600 });
  let n = 0;

  async function freshUser(): Promise<string> {
    const name = `conc${++n}-${nanoid(6)}`;
    await svc.asAdmin('user.create', { name });
    return name;
  }
  const keyDoc = (user: string) => svc.app.services.storage.db.collection<KeyDoc>('api_keys').findOne({ user });
  const works = async (token: string) => (await svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token))).status === 200;
  async function working(tokens: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const t of tokens) if (await works(t)) out.push(t);
    return out;
  }

  it('20 rotations of one key at once all succeed, in one order, each secret current when returned', async () => {
    const name = await freshUser();
    const user = await svc.app.services.storage.users.get(name);
    const keys = svc.app.services.storage.keys;
    const secrets = Array.from({ length: 21 }, () => newApiSecret());
    secrets.forEach((s) => ISSUED_SECRETS.add(s));
    const first = await keys.issueSecret(user, hashSecret(secrets[0]!), { graceSeconds: 0 });
    expect(first.created).to.equal(true);

    const rotations = await Promise.all(
      secrets.slice(1).map(async (secret) => ({ secret, ...(await keys.issueSecret(user, hashSecret(secret), { graceSeconds: 600 })) })),
    );
    // Each write applied once, on top of the one before: revisions 1..20,
    // each returned document holding its own secret as the current one and
    // the previous write's as the one in grace.
    const byRevision = [...rotations].sort((x, y) => x.key.revision! - y.key.revision!);
    expect(byRevision.map((r) => r.key.revision)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    let before = secrets[0]!;
    for (const r of byRevision) {
      expect(r.created).to.equal(false);
      expect(r.key.api_key).to.equal(first.key.api_key);
      expect(r.key.secret_hash).to.equal(hashSecret(r.secret));
      expect(r.key.previous_secret_hash).to.equal(hashSecret(before));
      before = r.secret;
    }
    const last = byRevision[19]!;
    const stored = (await keyDoc(name))!;
    expect(stored.revision).to.equal(20);
    expect(stored.secret_hash).to.equal(hashSecret(last.secret));

    // The last secret and, in its grace period, the one before it work; no other.
    const tokens = secrets.map((s) => `${first.key.api_key}:${s}`);
    expect(await working(tokens)).to.have.members([`${first.key.api_key}:${last.secret}`, `${first.key.api_key}:${byRevision[18]!.secret}`]);
  });

  it('20 generate_keys for one user at once, with a grace period: none refused, two working secrets left', async () => {
    const user = await freshUser();
    expectResult(await svc.call(GENERATE, { user }));
    const replies = await Promise.all(Array.from({ length: 20 }, () => svc.call(GENERATE, { user, grace_seconds: 600 })));
    const keys = replies.map(expectResult); // a -32009 "being changed by other calls" fails here
    expect(new Set(keys.map((k) => k.api_key)).size).to.equal(1);
    const stored = (await keyDoc(user))!;
    const alive = await working(keys.map(tokenOf));
    expect(alive).to.have.length(2);
    const hashes = alive.map((t) => hashSecret(t.split(':')[1]!));
    expect(hashes).to.have.members([stored.secret_hash, stored.previous_secret_hash]);
  });

  it('rotations racing auth.keys.update never undo it', async () => {
    const user = await freshUser();
    expectResult(await svc.call(GENERATE, { user }));
    const expiry = new Date(Date.now() + 86_400_000).toISOString();
    const calls = [
      ...Array.from({ length: 10 }, () => svc.call(GENERATE, { user })),
      svc.call('auth.keys.update', { user, scopes: ['auth.verify'] }),
      svc.call('auth.keys.update', { user, expires_at: expiry }),
    ];
    (await Promise.all(calls)).forEach(expectResult);
    const stored = (await keyDoc(user))!;
    expect(stored.scopes).to.deep.equal(['auth.verify']);
    expect(stored.expires_at!.toISOString()).to.equal(expiry);
    expect(stored.revision).to.equal(12);
  });

  it('last-use times written at once from two instances: the stored one is the latest', async () => {
    const other = await startInstance(svc.app.services.storage.db.databaseName);
    try {
      const user = await freshUser();
      const { api_key } = expectResult(await svc.call(GENERATE, { user }));
      const base = Date.now();
      const times = Array.from({ length: 60 }, (_, i) => new Date(base + ((i * 7919) % 60) * 1000)); // all different, shuffled
      const stores = [svc.app.services.storage.keys, other.services.storage.keys];
      await Promise.all(times.map((t, i) => stores[i % 2]!.touch(api_key, t)));
      const usage = await svc.app.services.storage.db.collection('key_usage').findOne({ _id: api_key });
      expect(usage!.last_used_at).to.deep.equal(new Date(Math.max(...times.map((t) => t.getTime()))));
    } finally {
      await other.close();
    }
  });

  it('20 user.create with one name at once: one succeeds, the others get -32009', async () => {
    const name = `same-${nanoid(6)}`;
    const replies = await Promise.all(Array.from({ length: 20 }, () => svc.call('user.create', { name })));
    const created = replies.filter((r) => r.body?.result);
    expect(created).to.have.length(1);
    for (const r of replies.filter((x) => !x.body?.result)) expectError(r, -32009);
    expect(await svc.app.services.storage.db.collection('users').countDocuments({ name })).to.equal(1);
  });

  it('revoke racing rotations ends revoked with no working secret, or rotated with exactly one (plus grace)', async () => {
    for (let round = 0; round < 8; round++) {
      const user = await freshUser();
      const initial = expectResult(await svc.call(GENERATE, { user }));
      const calls = Array.from({ length: 6 }, (_, i) => svc.call(GENERATE, { user, grace_seconds: i % 2 ? 600 : 0 }));
      // eslint-disable-next-line @typescript-eslint/no-floating-promises -- splice deletes none here, so returns []; the inserted call is awaited with the others
      calls.splice(round % 7, 0, svc.call('auth.keys.revoke', { user })); // the revoke at a different place each round
      const replies = await Promise.all(calls);
      const results = replies.map(expectResult); // every call succeeds: a revoke finds the key, a rotation after it makes a new one
      const tokens = [tokenOf(initial), ...results.filter((r) => r.api_secret).map(tokenOf)];
      const stored = await keyDoc(user);
      const alive = await working(tokens);
      if (!stored) {
        expect(alive, `round ${round}: revoked, yet a secret works`).to.deep.equal([]);
        continue;
      }
      const inGrace = !!stored.previous_secret_hash && stored.previous_valid_until!.getTime() > Date.now();
      expect(alive, `round ${round}`).to.have.length(inGrace ? 2 : 1);
      for (const t of alive) {
        const [apiKey, secret] = t.split(':') as [string, string];
        expect(apiKey).to.equal(stored.api_key);
        expect([stored.secret_hash, inGrace ? stored.previous_secret_hash : undefined]).to.include(hashSecret(secret));
      }
    }
  });
});
