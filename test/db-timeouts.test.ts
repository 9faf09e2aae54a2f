/**
 * Every database operation carries a server-side time limit (maxTimeMS,
 * DB_OP_TIMEOUT_MS), so no request can keep the database busy for long
 * (issue 10 §4). Proved by watching the commands the driver sends (command
 * monitoring), and by a query the database itself stops.
 */
import { expect } from 'chai';
import { nanoid } from 'nanoid';
import type { CommandStartedEvent } from 'mongodb';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startApp, type App } from '../src/app.js';
import { callContext } from '../src/rpc/spec.js';
import { operator } from '../src/auth/verify.js';
import { ADMINISTRATOR } from '../src/store/users.js';
import { toAppError } from '../src/errors.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
const LIMIT_MS = 4321;
/** Commands the driver sends on its own, or that run once at start (index builds). */
const DRIVER_OWN = new Set(['hello', 'ismaster', 'isMaster', 'endSessions', 'getMore', 'killCursors', 'createIndexes', 'dropDatabase']);

/** The same server with command monitoring on (a connection-string option). */
const monitored = (uri: string) => `${uri}${uri.includes('?') ? '&' : '?'}monitorCommands=true`;

function config(dbName: string, dbOpTimeoutMs: number): Config {
  return { ...loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' }), dbName, dbOpTimeoutMs, authFailureLimit: 10_000 };
}

describe('database time limits (maxTimeMS)', function () {
  this.timeout(120_000);
  const dbName = `test_${nanoid(10).replace(/-/g, '_')}`;
  let app: App;
  let adminToken: string;
  const seen: CommandStartedEvent[] = [];

  const rpc = async (target: App, method: string, params: unknown, token = adminToken) => {
    const started = Date.now();
    const res = await fetch(`${target.url}/rpc`, {
      method: 'POST',
      headers: { authorization: `token ${token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return { status: res.status, body: (await res.json()) as any, ms: Date.now() - started };
  };
  const ok = async (method: string, params: unknown, token?: string) => {
    const reply = await rpc(app, method, params, token);
    expect(reply.body, `${method}: ${JSON.stringify(reply.body)}`).to.have.property('result');
    return reply.body.result;
  };

  before(async () => {
    app = await startApp(config(dbName, LIMIT_MS), monitored(process.env.MONGODB_URI!), createLogger('silent'));
    app.services.storage.client.on('commandStarted', (e) => seen.push(e));
    const admin = await app.services.storage.users.get(ADMINISTRATOR);
    const ctx = callContext(operator(admin), 't', 'test', createLogger('silent'), app.services);
    const k = (await app.dispatcher.invoke(GENERATE, { user: ADMINISTRATOR }, ctx)) as { api_key: string; api_secret: string };
    adminToken = `${k.api_key}:${k.api_secret}`;
  });

  after(async () => {
    // Unset when before() failed, whatever the declaration says.
    const started = app as App | undefined;
    await started?.services.storage.db.dropDatabase();
    await started?.close();
  });

  it('every command the service sends carries maxTimeMS = DB_OP_TIMEOUT_MS', async () => {
    seen.length = 0;
    await ok('user.create', { name: 'timed', roles: ['Token Verifier'] });
    await ok('user.get', { name: 'timed' });
    await ok('user.list', { filters: [['full_name', 'like', '%ti%']], order_by: 'modified_at desc', limit: 5 });
    await ok('user.update', { name: 'timed', full_name: 'Timed' });
    const k = await ok(GENERATE, { user: 'timed' });
    await ok(GENERATE, { user: 'timed', grace_seconds: 60 });
    await ok('auth.keys.get', { user: 'timed' });
    await ok('auth.keys.list', { limit: 5 });
    await ok('auth.keys.update', { user: 'timed', scopes: ['auth.*'] });
    await ok('auth.audit.list', { user: 'timed', limit: 5 });
    const fresh = await ok(GENERATE, { user: 'timed' });
    await ok('auth.verify', {}, `${fresh.api_key}:${fresh.api_secret}`); // a token lookup, and its last use written
    expect(k.api_key).to.equal(fresh.api_key);
    await ok('auth.keys.revoke', { user: 'timed' });
    await ok('user.delete', { name: 'timed' });
    expect((await fetch(`${app.url}/readyz`)).status).to.equal(200); // ping
    // What no method uses yet, through the same collections: count and aggregate too.
    const users = (app.services.storage.users as unknown as { users: import('mongodb').Collection }).users;
    await users.countDocuments({});
    await users.estimatedDocumentCount();
    await users.aggregate([{ $match: { enabled: true } }]).toArray();

    const unlimited = seen.filter((e) => !DRIVER_OWN.has(e.commandName) && e.command.maxTimeMS !== LIMIT_MS);
    expect(unlimited.map((e) => `${e.commandName} ${JSON.stringify(e.command.maxTimeMS)}`)).to.deep.equal([]);
    const names = new Set(seen.map((e) => e.commandName));
    for (const name of ['find', 'insert', 'update', 'delete', 'findAndModify', 'aggregate', 'count', 'ping']) {
      expect(names, `a ${name} command was seen`).to.include(name);
    }
  });

  it('maps the server stopping an operation (MaxTimeMSExpired, code 50) to storage unavailable', () => {
    const err = Object.assign(new Error('operation exceeded time limit'), { name: 'MongoServerError', code: 50, codeName: 'MaxTimeMSExpired' });
    expect(toAppError(err).kind).to.equal('storage_unavailable');
    expect(toAppError(Object.assign(new Error('x'), { name: 'MongoServerError', code: 2 })).kind).to.equal('internal');
  });

  it('a query slower than the limit is stopped by the database and answered -32050; the service carries on', async function () {
    const users = app.services.storage.db.collection('users');
    const now = new Date();
    for (let n = 0; n < 10_000; n += 1000) {
      await users.insertMany(
        Array.from({ length: 1000 }, (_, i) => ({
          name: `slow${n + i}`,
          full_name: `Slow ${n + i} ${'x'.repeat(100)}`,
          roles: [],
          enabled: true,
          created_at: now,
          modified_at: now,
        })),
      );
    }
    // A pattern no index can serve: every document is read.
    const slow = { filters: [['full_name', 'like', '%zz%']], order_by: 'full_name desc', limit: 20 };
    const normal = await rpc(app, 'user.list', slow);
    expect(normal.body.result).to.deep.equal([]);
    // Against a database that answers this fast, a limit low enough to stop it would stop everything else too.
    if (normal.ms < 250) this.skip();

    const limitMs = Math.max(50, Math.floor(normal.ms / 5));
    const strict = await startApp(config(dbName, limitMs), process.env.MONGODB_URI!, createLogger('silent'));
    try {
      const stopped = await rpc(strict, 'user.list', slow);
      expect(stopped.status).to.equal(200);
      expect(stopped.body.error, `limit ${limitMs} ms, the query takes ${normal.ms} ms`).to.deep.equal({ code: -32050, message: 'Storage unavailable' });
      // The same instance, the same connections: quick calls still work.
      const quick = await rpc(strict, 'user.get', { name: ADMINISTRATOR });
      expect(quick.body.result?.name).to.equal(ADMINISTRATOR);
    } finally {
      await strict.close();
    }
  });
});
