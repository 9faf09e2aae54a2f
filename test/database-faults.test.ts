import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startApp, type App } from '../src/app.js';
import { startLocalDatabase, type LocalDatabase } from '../src/localdb/index.js';
import { callContext } from '../src/rpc/spec.js';
import { operator } from '../src/auth/verify.js';
import { ADMINISTRATOR } from '../src/store/users.js';
import { unavailableReason } from '../src/localdb/secantusdb.js';
import { newApiSecret } from '../src/auth/token.js';
import { skipBecause } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

/**
 * This test stops and restarts its database, so it runs its own local server
 * (secantusdb) whatever MONGODB_URI says.
 */
describe('database faults', function () {
  this.timeout(90_000);
  let dir: string;
  let db: LocalDatabase;
  let port: number;
  let app: App;
  let adminToken: string;
  let userToken: string;

  const rpc = async (method: string, params: unknown, token: string) => {
    const started = Date.now();
    const res = await fetch(`${app.url}/rpc`, {
      method: 'POST',
      headers: { authorization: `token ${token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return { status: res.status, body: (await res.json()) as any, ms: Date.now() - started };
  };

  before(async function () {
    const missing = await unavailableReason();
    if (missing) skipBecause(this, `no local database can run here: ${missing}`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-faults-'));
    db = await startLocalDatabase({ dataDir: dir, advertise: false, progress: () => {} });
    port = Number(/:(\d+)\//.exec(db.uri)![1]);
    const config = { ...loadConfig({ PORT: '0' }), dbName: 'faults', dbTimeoutMs: 1000, authCacheTtlMs: 60_000 };
    app = await startApp(config, db.uri, createLogger('silent'));
    const admin = await app.services.storage.users.get(ADMINISTRATOR);
    const ctx = callContext(operator(admin), 't', 'test', createLogger('silent'), app.services);
    const a = (await app.dispatcher.invoke(GENERATE, { user: ADMINISTRATOR }, ctx)) as { api_key: string; api_secret: string };
    adminToken = `${a.api_key}:${a.api_secret}`;
    await app.dispatcher.invoke('user.create', { name: 'bystander' }, ctx);
    const u = (await app.dispatcher.invoke(GENERATE, { user: 'bystander' }, ctx)) as { api_key: string; api_secret: string };
    userToken = `${u.api_key}:${u.api_secret}`;
  });

  after(async () => {
    // Unset when before() failed or skipped, whatever the declarations say.
    await (app as App | undefined)?.close();
    await (db as LocalDatabase | undefined)?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails storage calls within the timeout, keeps verified tokens working, and recovers by itself', async () => {
    // Warm the admin token, then take the database away.
    expect((await rpc('auth.verify', {}, adminToken)).status).to.equal(200);
    await db.stop();

    const verified = await rpc('frappe.auth.get_logged_user', {}, adminToken);
    expect(verified.body.result, 'a cached token keeps working').to.equal(ADMINISTRATOR);

    const list = await rpc('user.list', {}, adminToken);
    expect(list.body.error).to.deep.equal({ code: -32050, message: 'Storage unavailable' });
    expect(list.ms, 'bounded by DB_TIMEOUT_MS').to.be.below(4000);

    // A token the cache cannot vouch for (here a wrong secret) needs the database.
    const cold = await rpc('auth.verify', {}, `${userToken.split(':')[0]}:${newApiSecret()}`);
    expect(cold.status, 'a token the cache does not vouch for cannot be checked').to.equal(503);
    expect(cold.body.error.code).to.equal(-32050);
    expect(cold.ms).to.be.below(4000);

    // No partial writes: a rotation and a deletion attempted now change nothing.
    expect((await rpc(GENERATE, { user: 'bystander' }, adminToken)).body.error.code).to.equal(-32050);
    expect((await rpc('user.delete', { name: 'bystander' }, adminToken)).body.error.code).to.equal(-32050);

    expect((await fetch(`${app.url}/readyz`)).status).to.equal(503);
    expect((await fetch(`${app.url}/healthz`)).status).to.equal(200);

    // Bring it back on the same port and data: the service recovers without a restart.
    db = await startLocalDatabase({ dataDir: dir, advertise: false, progress: () => {}, port });
    let ready = 503;
    for (let i = 0; i < 60 && ready !== 200; i++) {
      ready = (await fetch(`${app.url}/readyz`)).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(ready).to.equal(200);
    const again = await rpc('user.list', {}, adminToken);
    expect(again.body.result.map((u: { name: string }) => u.name)).to.include('bystander');
    // The failed rotation left the old secret working.
    expect((await rpc('frappe.auth.get_logged_user', {}, userToken)).body.result).to.equal('bystander');
  });

  it('tidies away a key whose user deletion was cut short, and never honours it', async () => {
    const admin = await app.services.storage.users.get(ADMINISTRATOR);
    const ctx = callContext(operator(admin), 't', 'test', createLogger('silent'), app.services);
    await app.dispatcher.invoke('user.create', { name: 'half-deleted' }, ctx);
    const k = (await app.dispatcher.invoke(GENERATE, { user: 'half-deleted' }, ctx)) as { api_key: string; api_secret: string };
    // As if user.delete stopped after its first write (which tells the token check, as the store does).
    const gone = await app.services.storage.users.get('half-deleted');
    await app.services.storage.db.collection('users').deleteOne({ name: 'half-deleted' });
    app.services.auth.forget(gone._id);
    const reply = await rpc('auth.verify', {}, `${k.api_key}:${k.api_secret}`);
    expect(reply.status).to.equal(401);
    let left = 1;
    for (let i = 0; i < 20 && left > 0; i++) {
      left = await app.services.storage.db.collection('api_keys').countDocuments({ user: 'half-deleted' });
      if (left > 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(left).to.equal(0);
  });
});
