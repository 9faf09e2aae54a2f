/**
 * Changes made through one instance reach the token cache of another on the
 * same database through key_events (src/store/key-events.ts,
 * src/auth/event-feed.ts), on both paths: a change stream (the local
 * database is a replica set) and polling (KEY_EVENTS_MODE=poll). Instance B
 * caches for AUTH_CACHE_TTL_MS's default (10 minutes), so only an event can
 * make it refuse a credential it has cached.
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { loadConfig, ConfigError, type Config } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startApp, type App } from '../src/app.js';
import { ALL_LOGS, useService, bearer, basic, tokenOf, expectResult, expectError, replicaSetName, skipBecause, sleep, type ServiceFixture } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
/** The bound every change must meet on the other instance, with a healthy feed. */
const BOUND_MS = 1000;

interface Instance {
  app: App;
  logs: string[];
}

/** Another instance on `dbName`, as a second process of one deployment would be (its logs join the secrets audit). */
async function startOther(dbName: string, overrides: Partial<Config> = {}): Promise<Instance> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      const lines = String(chunk).split('\n').filter(Boolean);
      logs.push(...lines);
      ALL_LOGS.push(...lines);
      done();
    },
  });
  const config: Config = {
    ...loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' }),
    dbName,
    authFailureLimit: 10_000,
    maxRowsPerSecond: 10_000_000,
    ...overrides,
  };
  return { app: await startApp(config, process.env.MONGODB_URI!, createLogger('debug', sink)), logs };
}

async function rpc(app: App, method: string, token: string, params: unknown = {}) {
  const res = await fetch(`${app.url}/rpc`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer(token) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const lookups = async (app: App) => (await app.services.metrics.authDbLookups.get()).values[0]?.value ?? 0;

/** Calls `check` until it says yes; returns how long that took (ms), failing past `limitMs`. */
async function within(limitMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`${what}: not seen within ${limitMs} ms`);
    await sleep(5);
  }
}

const refused =
  (app: App, token: string, code = -32001, method = 'frappe.auth.get_logged_user') =>
  async () =>
    (await rpc(app, method, token)).body.error?.code === code;

/**
 * The token works on `app`, and from its cache: a call reads nothing. A
 * lookup that an event overtook (here, the creating instance's own) is not
 * cached, so this tries a few times.
 */
async function cachedOn(app: App, token: string, method = 'frappe.auth.get_logged_user'): Promise<void> {
  expect((await rpc(app, method, token)).body, 'works before the change').to.have.property('result');
  for (let attempt = 1; ; attempt++) {
    const before = await lookups(app);
    expect((await rpc(app, method, token)).body).to.have.property('result');
    if ((await lookups(app)) === before) return;
    expect(attempt, 'served from the cache').to.be.below(5);
    await sleep(20);
  }
}

for (const mode of ['change_stream', 'poll'] as const) {
  describe(`key events: changes on one instance reach another (${mode})`, function () {
    this.timeout(60_000);
    const a = useService({ keyEventsMode: mode });
    let b: Instance;
    const measured: number[] = [];

    before(async function () {
      if (mode === 'change_stream' && !(await replicaSetName(a.db))) skipBecause(this, 'a standalone server has no change streams');
      b = await startOther(a.db.databaseName, { keyEventsMode: mode });
      expect(b.app.services.auth.keyEvents).to.equal(mode);
    });

    after(async () => {
      await (b as Instance | undefined)?.app.close();
      if (measured.length > 0) {
        const sorted = [...measured].sort((x, y) => x - y);
        console.log(`      ${mode}: ${sorted.length} changes refused on the other instance after ${sorted.join(', ')} ms`);
      }
    });

    /** A user with a token made on A, cached on B. */
    async function cachedUser(roles: string[] = []): Promise<{ name: string; token: string }> {
      const user = await a.newUserWithToken(roles);
      await cachedOn(b.app, user.token);
      return user;
    }

    const change = async (what: string, token: string, act: () => Promise<unknown>, code = -32001, method?: string) => {
      await act();
      const ms = await within(BOUND_MS, what, refused(b.app, token, code, method));
      measured.push(ms);
      return ms;
    };

    it('a revoked key is refused on the other instance within a second', async () => {
      const { name, token } = await cachedUser();
      await change('revoke', token, () => a.asAdmin('auth.keys.revoke', { user: name }));
    });

    it('a rotated secret is refused, and the new one works, on the other instance within a second', async () => {
      const { name, token } = await cachedUser();
      let fresh = '';
      await change('rotate', token, async () => (fresh = tokenOf(await a.asAdmin(GENERATE, { user: name }))));
      expect((await rpc(b.app, 'frappe.auth.get_logged_user', fresh)).body.result).to.equal(name);
    });

    it('scopes narrowed by auth.keys.update apply on the other instance within a second', async () => {
      const { name, token } = await cachedUser();
      await change('keys.update', token, () => a.asAdmin('auth.keys.update', { user: name, scopes: ['auth.verify'] }), -32003);
      expect((await rpc(b.app, 'auth.verify', token)).body.result.scopes).to.deep.equal(['auth.verify']);
    });

    it('an ip_allowlist set by auth.keys.update applies on the other instance within a second', async () => {
      const { name, token } = await cachedUser();
      await change('ip_allowlist', token, () => a.asAdmin('auth.keys.update', { user: name, ip_allowlist: ['203.0.113.0/24'] }), -32003);
      expect((await rpc(b.app, 'frappe.auth.get_logged_user', token)).body.error.message).to.include('127.0.0.1');
    });

    it('a disabled user is refused on the other instance within a second', async () => {
      const { name, token } = await cachedUser();
      await change('disable', token, () => a.asAdmin('user.update', { name, enabled: false }));
    });

    it('a deleted user is refused on the other instance within a second', async () => {
      const { name, token } = await cachedUser();
      await change('delete', token, () => a.asAdmin('user.delete', { name }));
    });

    it('a role removed applies on the other instance within a second', async () => {
      const { name, token } = await a.newUserWithToken(['System Manager']);
      await cachedOn(b.app, token, 'user.list');
      await change('roles', token, () => a.asAdmin('user.update', { name, roles: [] }), -32003, 'user.list');
      expect((await rpc(b.app, 'frappe.auth.get_logged_user', token)).body.result, 'the token itself still works').to.equal(name);
    });

    it('records each change as an event of the agreed shape, stamped by the server', async () => {
      const { name, token } = await a.newUserWithToken();
      const apiKey = token.split(':')[0]!;
      const user = (await a.collection('users').findOne({ name }))!;
      const since = new Date(Date.now() - 60_000);
      await a.asAdmin('user.update', { name, enabled: false });
      await a.asAdmin('auth.keys.revoke', { user: name });
      const events = await a.collection('key_events').find({ user_id: user._id }).sort({ at: 1, _id: 1 }).toArray();
      const shapes = events.map(({ _id, at, ...rest }) => {
        expect(at).to.be.instanceOf(Date);
        expect((at as Date).getTime()).to.be.above(since.getTime());
        return rest;
      });
      // generate_keys, then the disable, then the revocation.
      expect(shapes).to.deep.equal([
        { kind: 'key', api_key: apiKey, user_id: user._id },
        { kind: 'user', user_id: user._id },
        { kind: 'key', api_key: apiKey, user_id: user._id },
      ]);
    });

    it('reports the feed at /readyz?verbose and /metrics, with the propagation histogram', async () => {
      const ready = await fetch(`${b.app.url}/readyz?verbose`);
      expect(ready.status).to.equal(200);
      expect(await ready.json()).to.deep.equal({ status: 'ready', key_events: mode });
      const text = await (await fetch(`${b.app.url}/metrics`, { headers: basic(a.adminToken) })).text();
      expect(text).to.include(`tokenauth_key_events_feed_up{mode="${mode}"} 1`);
      const count = Number(/^tokenauth_revocation_propagation_seconds_count (\d+)/m.exec(text)?.[1]);
      expect(count, 'events observed').to.be.at.least(6);
      expect(text).to.match(/^tokenauth_revocation_propagation_seconds_bucket\{le="1"\} \d+/m);
    });

    it('passes a client_blocked event to the limits hook of the other instance', async () => {
      const seen: [string, Date][] = [];
      const auth = b.app.services.auth;
      const original = auth.onClientBlocked.bind(auth);
      auth.onClientBlocked = (client, until) => void seen.push([client, until]);
      try {
        const until = new Date(Date.now() + 60_000);
        await a.app.services.storage.keyEvents.record({ kind: 'client_blocked', client: '203.0.113.9', until });
        await within(BOUND_MS, 'client_blocked', () => Promise.resolve(seen.length > 0));
        expect(seen).to.deep.equal([['203.0.113.9', until]]);
      } finally {
        auth.onClientBlocked = original;
      }
    });
  });
}

describe('key events: a change is never reported done without its event', () => {
  const svc = useService();

  it('fails the call (-32050) when the event cannot be written, after trying twice', async () => {
    const { name, token } = await svc.newUserWithToken();
    const events = (svc.app.services.storage.keyEvents as unknown as { events: Record<string, unknown> }).events;
    const original = events.updateOne;
    let tries = 0;
    events.updateOne = () => {
      tries++;
      return Promise.reject(Object.assign(new Error('connection reset'), { name: 'MongoNetworkError' }));
    };
    try {
      expectError(await svc.call('user.update', { name, enabled: false }), -32050);
    } finally {
      events.updateOne = original;
    }
    expect(tries).to.be.at.least(2);
    // The write itself happened, and this instance heard of it at once.
    expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32001, 401);
    // Done again, the call succeeds and records the event the others need.
    expectResult(await svc.call('user.update', { name, enabled: false }));
    expect(await svc.collection('key_events').countDocuments({ kind: 'user' })).to.be.at.least(1);
  });

  it('many events in one write (a leak report): a lost reply is tried again and writes each once; two failures fail the report', async () => {
    const keyEvents = svc.app.services.storage.keyEvents;
    const events = (keyEvents as unknown as { events: Record<string, unknown> }).events;
    const original = events.insertMany as (...args: unknown[]) => Promise<unknown>;
    const lost = () => Object.assign(new Error('connection reset after the write'), { name: 'MongoNetworkError' });
    // The first attempt writes one event of three, and its reply is lost.
    events.insertMany = async (docs: unknown[], ...rest: unknown[]) => {
      events.insertMany = original;
      await original.call(events, docs.slice(0, 1), ...rest);
      throw lost();
    };
    const users = [new ObjectId(), new ObjectId(), new ObjectId()];
    const before = new Date(Date.now() - 60_000);
    const ids = await keyEvents.recordMany(users.map((user_id, i) => ({ kind: 'key', api_key: `tak_many${i}`, user_id })));
    const written = await svc
      .collection('key_events')
      .find({ _id: { $in: ids } })
      .toArray();
    expect(written.map((e) => e._id.toHexString()).sort()).to.deep.equal(ids.map((id) => id.toHexString()).sort());
    for (const e of written) expect((e.at as Date).getTime()).to.be.above(before.getTime());
    for (const id of ids) expect(keyEvents.recordedHere(id)).to.equal(true);

    const { token } = await svc.newUserWithToken();
    let tries = 0;
    events.insertMany = () => {
      tries++;
      return Promise.reject(lost());
    };
    try {
      expectError(await svc.call('auth.keys.report_leak', { token }), -32050);
    } finally {
      events.insertMany = original;
    }
    expect(tries).to.equal(2);
    expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32001, 401);
    // The key was ended, and not deleted while its event was missing. A later report of it (a minute on:
    // the stamp is made older here) announces it and deletes it.
    const apiKey = token.split(':')[0]!;
    const keys = svc.collection('api_keys');
    expect(await keys.countDocuments({ api_key: apiKey })).to.equal(1);
    await keys.updateOne({ api_key: apiKey }, { $set: { 'leak_claims.0.at': new Date(Date.now() - 120_000) } });
    const announced = await svc.collection('key_events').countDocuments({ api_key: apiKey });
    expectResult(await svc.call('auth.keys.report_leak', { token }));
    expect(await svc.collection('key_events').countDocuments({ api_key: apiKey })).to.equal(announced + 1);
    expect(await keys.countDocuments({ api_key: apiKey })).to.equal(0);
  });
});

for (const mode of ['change_stream', 'poll'] as const) {
  describe(`key events: while the feed is down (${mode})`, function () {
    this.timeout(60_000);
    const a = useService({ keyEventsMode: mode });
    let b: Instance;
    let restore: (() => void) | undefined;
    // A short retention: an outage longer than it, less the overlap, empties the cache on recovery.
    const staleMs = 1000;

    before(async function () {
      if (mode === 'change_stream' && !(await replicaSetName(a.db))) skipBecause(this, 'a standalone server has no change streams');
      b = await startOther(a.db.databaseName, { keyEventsMode: mode, keyEventsStaleMs: staleMs, keyEventsRetentionMs: 5000 });
    });

    after(async () => {
      restore?.();
      await (b as Instance | undefined)?.app.close();
    });

    /** Makes B's feed fail to read: its reads throw, and (for a change stream) its open stream is closed. */
    async function cutFeed(): Promise<void> {
      const keyEvents = b.app.services.storage.keyEvents as unknown as Record<string, unknown>;
      const saved = { watch: keyEvents.watch, from: keyEvents.from };
      const fail = () => {
        throw Object.assign(new Error('injected: key_events unreadable'), { name: 'MongoNetworkError' });
      };
      keyEvents.watch = fail;
      keyEvents.from = fail;
      restore = () => Object.assign(keyEvents, saved);
      const feed = (b.app.services.auth as unknown as { feed: { closeStream?: () => Promise<void> } }).feed;
      await feed.closeStream?.();
    }

    it('says so (readyz, metric, one warning), refuses a change within the short bound, and recovers', async () => {
      const { name, token } = await a.newUserWithToken();
      const other = await a.newUserWithToken();
      await cachedOn(b.app, token);
      await cachedOn(b.app, other.token);

      await cutFeed();
      await within(5000, 'feed down', () => Promise.resolve(b.app.services.auth.keyEvents === 'down'));
      const ready = await fetch(`${b.app.url}/readyz`);
      expect(ready.status, 'still ready: slower, not wrong').to.equal(200);
      expect(await ready.json()).to.deep.equal({ status: 'ready', key_events: 'down' });
      const metrics = await (await fetch(`${b.app.url}/metrics`, { headers: basic(a.adminToken) })).text();
      expect(metrics).to.include(`tokenauth_key_events_feed_up{mode="${mode}"} 0`);

      // Tokens still work, read again once their entry is older than the bound.
      await sleep(staleMs + 50);
      const before = await lookups(b.app);
      expect((await rpc(b.app, 'frappe.auth.get_logged_user', token)).body.result).to.equal(name);
      expect(await lookups(b.app), 'an entry older than the bound is read again').to.equal(before + 1);

      // A change on A, whose event B cannot read, is refused within the bound.
      await a.asAdmin('auth.keys.revoke', { user: name });
      const ms = await within(staleMs + 500, 'revocation while the feed is down', refused(b.app, token));
      console.log(`      ${mode}, feed down: revocation refused on the other instance after ${ms} ms (bound ${staleMs} ms)`);

      // The outage has outlived the retention less the overlap (5 s - 4 s): on
      // recovery B forgets its whole cache, fresh entries included.
      expect((await rpc(b.app, 'frappe.auth.get_logged_user', other.token)).body.result).to.equal(other.name);
      restore!();
      restore = undefined;
      await within(5000, 'feed up', () => Promise.resolve(b.app.services.auth.keyEvents === mode));
      const afterRecovery = await lookups(b.app);
      expect((await rpc(b.app, 'frappe.auth.get_logged_user', other.token)).body.result).to.equal(other.name);
      expect(await lookups(b.app), 'the cache was emptied on recovery').to.equal(afterRecovery + 1);

      const feedLines = b.logs.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg.startsWith('key events:'));
      expect(
        feedLines.filter((l) => l.level === 40),
        'one warning when it went down',
      ).to.have.length(1);
      expect(
        feedLines.filter((l) => l.level === 30 && l.msg.includes('following again')),
        'one info when it came back',
      ).to.have.length(1);
      expect(await (await fetch(`${b.app.url}/readyz`)).json()).to.deep.equal({ status: 'ready' });

      // Followed again: the next change arrives as an event.
      const third = await a.newUserWithToken();
      await cachedOn(b.app, third.token);
      await a.asAdmin('user.update', { name: third.name, enabled: false });
      await within(BOUND_MS, 'disable after recovery', refused(b.app, third.token));
    });
  });
}

describe('key events: old events are removed after KEY_EVENTS_RETENTION_MS', function () {
  this.timeout(30_000);
  const svc: ServiceFixture = useService({ keyEventsRetentionMs: 5000 });

  it('removes an event once older than the retention, and keeps a younger one', async () => {
    const events = svc.app.services.storage.keyEvents;
    const first: ObjectId = await events.record({ kind: 'user', user_id: (await svc.collection('users').findOne({}))!._id });
    await sleep(2500);
    const second = await events.record({ kind: 'client_blocked', client: '198.51.100.7', until: new Date() });
    const exists = async (id: ObjectId) => (await svc.collection('key_events').countDocuments({ _id: id })) === 1;
    expect(await exists(first)).to.equal(true);
    // Cleanup runs every second with this retention: the first goes 5 to 6 s after it was written.
    const ms = await within(8000, 'cleanup', async () => !(await exists(first)));
    expect(ms, 'not before its retention').to.be.at.least(1500);
    expect(await exists(second), 'a younger event stays').to.equal(true);
  });
});

describe('key events: configuration', () => {
  it('has the documented defaults: a 10-minute cache, auto mode, a 1 s bound while down, events kept an hour', () => {
    expect(loadConfig({})).to.include({ authCacheTtlMs: 600_000, keyEventsMode: 'auto', keyEventsStaleMs: 1000, keyEventsRetentionMs: 3_600_000 });
    expect(loadConfig({ KEY_EVENTS_MODE: 'poll', KEY_EVENTS_STALE_MS: '0', KEY_EVENTS_RETENTION_MS: '5000' })).to.include({
      keyEventsMode: 'poll',
      keyEventsStaleMs: 0,
      keyEventsRetentionMs: 5000,
    });
  });

  it('names the variable and the bad value', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ KEY_EVENTS_MODE: 'push' }, /KEY_EVENTS_MODE must be one of auto, change_stream, poll \(got "push"\)/],
      [{ KEY_EVENTS_STALE_MS: '-1' }, /KEY_EVENTS_STALE_MS must be an integer from 0 to 60000/],
      [{ KEY_EVENTS_RETENTION_MS: '4999' }, /KEY_EVENTS_RETENTION_MS must be an integer from 5000/],
    ];
    for (const [env, message] of cases) expect(() => loadConfig(env), JSON.stringify(env)).to.throw(ConfigError, message);
  });
});
