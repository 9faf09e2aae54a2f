/**
 * The failure limits hold for the whole deployment (issue 14): two instances
 * on one database count a client's and an api_key's refusals together, in
 * the database (src/store/failure-counts.ts), while a valid call costs no
 * database work at all. SECURITY.md, "Every guess counts, on every path".
 *
 * What is guaranteed, and proved here:
 * - at most AUTH_FAILURE_LIMIT refusals per client and per api_key per
 *   window are answered 401 across all instances, even when they arrive
 *   at once; every further refusal is 429, on every instance;
 * - a client over its limit on A gets 429 on B from its first wrong token
 *   there; its right token still gets in on B (cached or read afresh), as
 *   on one instance: the limit is on wrong guesses;
 * - an instance that knows of a block (its own count, or another
 *   instance's client_blocked event) answers 429 without writing;
 * - valid cached calls send no command to the database;
 * - with the database's count out of reach, each instance counts alone.
 */
import { expect } from 'chai';
import { ObjectId, type CommandStartedEvent } from 'mongodb';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startApp, type App } from '../src/app.js';
import { newApiKey, newApiSecret } from '../src/auth/token.js';
import type { FailureCountDoc, FailureCountStore } from '../src/store/failure-counts.js';
import type { KeyEventDoc } from '../src/store/key-events.js';
import { useService, requestFrom, bearer, sleep } from './harness.js';

const CALL = { jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' };
const LIMIT = 3;
const WINDOW_MS = 60_000;
/** Well-formed (its checksum holds), so it reaches a lookup: a real guess. */
const madeUp = () => `token ${newApiKey()}:${newApiSecret()}`;
const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify']);
/** Commands the driver sends on its own. */
const DRIVER_OWN = new Set(['hello', 'ismaster', 'isMaster', 'endSessions']);

/** The same server with command monitoring on (a connection-string option). */
const monitored = (uri: string) => `${uri}${uri.includes('?') ? '&' : '?'}monitorCommands=true`;

describe('failure limits across instances', function () {
  this.timeout(60_000);
  const a = useService({ authFailureLimit: LIMIT, authFailureWindowMs: WINDOW_MS, authCacheTtlMs: 60_000 });
  let b: App;
  /** Every command instance B sent. */
  const seen: CommandStartedEvent[] = [];

  before(async () => {
    const config = {
      ...loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' }),
      dbName: a.db.databaseName,
      authFailureLimit: LIMIT,
      authFailureWindowMs: WINDOW_MS,
      authCacheTtlMs: 60_000,
      maxRowsPerSecond: 10_000_000,
    };
    b = await startApp(config, monitored(process.env.MONGODB_URI!), createLogger('silent'));
    b.services.storage.client.on('commandStarted', (e) => seen.push(e));
  });
  after(async () => {
    await b.close(); // the database is a's: dropped by its own after hook
  });

  const post = (to: { url: string }, from: string, authorization: string) => requestFrom(to, from, 'POST', '/rpc', { body: CALL, authorization });
  /** B's commands while `run` runs (those B's own timers send left out). */
  const commandsOfB = async (run: () => Promise<unknown>) => {
    const from = seen.length;
    await run();
    // The change feed's own reads of key_events (getMore on its stream, or a poller's find) are not the request's.
    const feed = (e: CommandStartedEvent) =>
      (e.command as { collection?: unknown; find?: unknown }).collection === 'key_events' || e.command.find === 'key_events';
    return seen.slice(from).filter((e) => !DRIVER_OWN.has(e.commandName) && !feed(e));
  };
  const writes = (commands: CommandStartedEvent[]) =>
    commands.filter((e) => WRITES.has(e.commandName)).map((e) => `${e.commandName} ${e.command[e.commandName]}`);
  const storeOf = (app: App): FailureCountStore => app.services.storage.failureCounts;
  /** The windows as stored. */
  const windows = () => a.db.collection<FailureCountDoc>('failure_counts');

  it('the failure limit holds across instances: refusals split over A and B, the one past the limit is 429 on either', async () => {
    const from = '127.0.14.1';
    const statuses = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await post(i % 2 ? b : a, from, madeUp())).status);
    expect(statuses, 'LIMIT refusals, counted together').to.deep.equal(Array(LIMIT).fill(401));
    const [onA, onB] = await Promise.all([post(a, from, madeUp()), post(b, from, madeUp())]);
    expect(onA.status).to.equal(429);
    expect(onB.status).to.equal(429);
    expect(onB.body.error.code).to.equal(-32029);
    expect(Number(onB.headers['retry-after'])).to.be.within(1, WINDOW_MS / 1000);
  });

  it('answers at most LIMIT refusals with 401 when they arrive at once on both instances', async () => {
    const from = '127.0.14.2';
    // 3 x LIMIT, so each instance stays within its own lookup allowance (2 x LIMIT): every one is judged and counted.
    const replies = await Promise.all(Array.from({ length: 3 * LIMIT }, (_, i) => post(i % 2 ? b : a, from, madeUp())));
    const statuses = replies.map((r) => r.status);
    // The bound is the promise: never more than LIMIT 401s. One CI run on a loaded machine gave one
    // fewer (401 429 ... 401: the last in-flight refusal answered 429), which errs on the safe side.
    const unauthorized = statuses.filter((s) => s === 401).length;
    expect(unauthorized, statuses.join(' '))
      .to.be.at.most(LIMIT)
      .and.at.least(LIMIT - 1);
    expect(statuses.filter((s) => s === 429)).to.have.length(3 * LIMIT - unauthorized);
  });

  it('counts wrong secrets at one api_key across instances and addresses; its owner still gets in on either', async () => {
    const owner = await a.userWithToken('cluster-victim');
    const key = owner.split(':')[0]!;
    for (let i = 0; i < LIMIT; i++) expect((await post(i % 2 ? b : a, `127.0.14.${10 + i}`, `token ${key}:${newApiSecret()}`)).status).to.equal(401);
    expect((await post(b, '127.0.14.20', `token ${key}:${newApiSecret()}`)).status, 'the key is over its limit').to.equal(429);
    expect((await post(a, '127.0.14.21', `token ${key}:${newApiSecret()}`)).status).to.equal(429);
    expect((await post(b, '127.0.14.22', `token ${owner}`)).body.result).to.equal('cluster-victim');
    expect((await post(a, '127.0.14.22', `token ${owner}`)).body.result).to.equal('cluster-victim');
  });

  it('a client blocked on A gets 429 on B from its first wrong token, known from the event feed, without writing; its right token still gets in on B', async () => {
    const from = '127.0.14.3';
    const token = await a.userWithToken('cluster-nat'); // B has never read this key
    for (let i = 0; i <= LIMIT; i++) await post(a, from, madeUp());
    expect((await post(a, from, madeUp())).status, 'blocked on A').to.equal(429);

    // A's client_blocked event reaches B through the change feed within milliseconds (a poller: 250 ms).
    await sleep(500);
    const first = await commandsOfB(async () => expect((await post(b, from, madeUp())).status).to.equal(429));
    expect(writes(first), 'B learnt the block from the event: no count written').to.deep.equal([]);
    const next = await commandsOfB(async () => expect((await post(b, from, madeUp())).status).to.equal(429));
    expect(writes(next), 'known to be blocked: no count written').to.deep.equal([]);

    const fresh = await post(b, from, `token ${token}`);
    expect(fresh.status, 'a right token, read afresh on B').to.equal(200);
    expect(fresh.body.result).to.equal('cluster-nat');
    expect((await post(b, from, `token ${token}`)).status, 'and cached').to.equal(200);
  });

  it('writes a client_blocked event when a client crosses its limit, and an instance told of it refuses without counting', async () => {
    const from = '127.0.14.4';
    for (let i = 0; i < LIMIT; i++) expect((await post(a, from, madeUp())).status).to.equal(401);
    const events = a.db.collection<KeyEventDoc>('key_events');
    let found: KeyEventDoc | null = null;
    for (let i = 0; i < 40 && !found; i++) {
      found = await events.findOne({ kind: 'client_blocked', client: from });
      if (!found) await sleep(25); // written off the refusal's path
    }
    if (!found) expect.fail('no client_blocked event');
    const event = found;
    expect(Object.keys(event)).to.deep.equal(['_id', 'at', 'kind', 'client', 'until']);
    expect(event._id).to.be.instanceOf(ObjectId);
    expect(event.at).to.be.instanceOf(Date);
    expect(Math.abs(event.at.getTime() - Date.now())).to.be.below(10_000);
    const window = await windows().findOne({ _id: `c|${from}` });
    expect(window).to.deep.include({ n: LIMIT });
    expect(event.until).to.deep.equal(window!.expires_at);
    expect(await events.countDocuments({ client: from }), 'one event: one instance sees the crossing').to.equal(1);

    // What the change feed does on B with such an event: B knows before its own next count.
    b.services.auth.onClientBlocked(from, event.until!);
    const commands = await commandsOfB(async () => {
      const reply = await post(b, from, madeUp());
      expect(reply.status).to.equal(429);
      expect(Number(reply.headers['retry-after'])).to.be.within(1, WINDOW_MS / 1000);
    });
    expect(writes(commands)).to.deep.equal([]);
  });

  it('the hot path issues no database command: 200 valid cached calls, one from a blocked address among them', async () => {
    const token = await a.userWithToken('cluster-hot');
    const blocked = '127.0.14.5';
    for (let i = 0; i <= LIMIT; i++) await post(b, blocked, madeUp());
    expect((await post(b, blocked, `token ${token}`)).status, 'warm: read once, last use written').to.equal(200);
    await sleep(200); // the last use is written off the request's path
    storeOf(b).stopCleanup(); // B's own timer, not a call's work
    try {
      const commands = await commandsOfB(async () => {
        for (let i = 0; i < 199; i++) {
          const res = await fetch(`${b.url}/rpc`, {
            method: 'POST',
            headers: { ...bearer(token), 'content-type': 'application/json' },
            body: JSON.stringify(CALL),
          });
          expect(res.status).to.equal(200);
          await res.arrayBuffer();
        }
        expect((await post(b, blocked, `token ${token}`)).status, 'from a blocked address too').to.equal(200);
      });
      expect(writes(commands), 'no write').to.deep.equal([]);
      expect(
        commands.map((e) => e.commandName),
        'no command at all',
      ).to.deep.equal([]);
    } finally {
      storeOf(b).startCleanup();
    }
  });

  it('counts a burst from one client exactly, across instances, with one write in flight per instance', async () => {
    const [storeA, storeB] = [storeOf(a.app), storeOf(b)];
    const from = seen.length;
    // 40 adds of weight 1 or 2 at once, half on each instance: every count from 1 to the total is told once.
    const weights = Array.from({ length: 40 }, (_, i) => 1 + (i % 3 === 0 ? 1 : 0));
    const told = await Promise.all(weights.map((w, i) => (i % 2 ? storeB : storeA).add('client', 'burst', w, WINDOW_MS)));
    const total = weights.reduce((s, w) => s + w, 0);
    expect((await windows().findOne({ _id: 'c|burst' }))?.n, 'the stored count').to.equal(total);
    // Each add is told a count with its own add in it, never past the total; the last one told, the total.
    // (Told counts are distinct on MongoDB; a server that answers a concurrent first upsert with no
    // document makes us read the window afresh, which may already hold later adds: higher, the safe side.)
    const counts = told.map((t) => t.n);
    expect(Math.max(...counts), counts.join(' ')).to.equal(total);
    told.forEach((t, i) => expect(t.n, `add ${i}`).to.be.within(weights[i]!, total));
    // B's writes for the burst: fewer than its adds (it coalesced the ones that came while one was in flight).
    const bWrites = seen.slice(from).filter((e) => e.commandName === 'findAndModify' && e.command.findAndModify === 'failure_counts');
    expect(bWrites.length, 'B wrote fewer times than it was asked to add').to.be.within(1, weights.length / 2 - 1);
  });

  it('closes windows by the database clock and removes them, now and every minute', async () => {
    const store = storeOf(b);
    expect(await store.add('client', 'cleanup-closing', 2, 1000)).to.include({ n: 2 });
    expect(await store.add('client', 'cleanup-closing', 1, 1000)).to.include({ n: 3 });
    await store.add('key', 'cleanup-running', 1, WINDOW_MS);
    await sleep(1100);
    expect(await store.add('client', 'cleanup-closing', 1, 1000), 'a closed window not yet removed counts as closed').to.include({ n: 1 });
    await sleep(1100);
    await store.removeExpired();
    expect(await windows().findOne({ _id: 'c|cleanup-closing' })).to.equal(null);
    expect(await windows().findOne({ _id: 'k|cleanup-running' }), 'a running window stays').to.deep.include({ n: 1 });

    // The timer the service runs (every minute; here every 100 ms), from any instance.
    await store.add('client', 'cleanup-timer', 1, 1000);
    store.startCleanup(100);
    try {
      let left = 1;
      for (let i = 0; i < 40 && left > 0; i++) {
        await sleep(100);
        left = await windows().countDocuments({ _id: 'c|cleanup-timer' });
      }
      expect(left).to.equal(0);
    } finally {
      store.startCleanup();
    }
  });

  it('counts in memory when the database count fails: each instance still holds the limit alone', async () => {
    const from = '127.0.14.6';
    const counts = (storeOf(b) as unknown as { counts: Record<string, unknown> }).counts;
    const original = counts.findOneAndUpdate;
    counts.findOneAndUpdate = () => Promise.reject(Object.assign(new Error('connection reset'), { name: 'MongoNetworkError' }));
    try {
      const statuses = [];
      for (let i = 0; i <= LIMIT; i++) statuses.push((await post(b, from, madeUp())).status);
      expect(statuses).to.deep.equal([...Array(LIMIT).fill(401), 429]);
    } finally {
      counts.findOneAndUpdate = original;
    }
    expect(await windows().findOne({ _id: `c|${from}` })).to.equal(null);
  });
});
