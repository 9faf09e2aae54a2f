/**
 * Starts the real service (real HTTP, real database) on a free port with its
 * own database, and offers small helpers to call it. Every successful call
 * made through `call` is checked against the method's result schema.
 */
import http from 'node:http';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { nanoid } from 'nanoid';
import type { Collection, Db } from 'mongodb';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startApp, type App } from '../src/app.js';
import { ADMINISTRATOR } from '../src/store/users.js';
import type { CallContext } from '../src/rpc/spec.js';
import { operator } from '../src/auth/verify.js';
import { hashSecret, newApiSecret } from '../src/auth/token.js';

/** Every log line of every service the tests start, and every secret they were shown. */
export const ALL_LOGS: string[] = [];
export const ISSUED_SECRETS = new Set<string>();

/** Shown a result (JSON-RPC `result`, REST `message` or `data`) that holds a secret: the log audit looks for it. */
function remember(result: unknown): void {
  const secret = (result as { api_secret?: unknown } | null)?.api_secret;
  if (typeof secret === 'string') ISSUED_SECRETS.add(secret);
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

export interface TestService {
  app: App;
  url: string;
  /** Every log line the service wrote. */
  logs: string[];
  adminToken: string;
  post(body: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** One JSON-RPC call; returns the whole reply. Results are checked against their schema. */
  call(method: string, params?: unknown, token?: string | null): Promise<Reply>;
  /** Creates a user and gives it a token. */
  userWithToken(name: string, roles?: string[], extra?: Record<string, unknown>): Promise<string>;
  /** Runs a method as Administrator without HTTP (the CLI's path). */
  asAdmin(method: string, params: unknown): Promise<any>;
  close(): Promise<void>;
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `token ${token}` };
}

/** The same token as HTTP Basic credentials, base64(key:secret), as Frappe's clients send it. */
export function basic(token: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(token).toString('base64')}` };
}

/** The token of a key pair as generate_keys returns it: api_key:api_secret. */
export function tokenOf(k: { api_key: string; api_secret: string }): string {
  return `${k.api_key}:${k.api_secret}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Reads `read` every 20 ms until `done` holds of its value, for at most `ms`; its last value (for work the answer does not wait for). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await sleep(20);
  }
}

/**
 * Skips the test (or, from a hook, its suite's tests) with the reason in
 * each skipped test's title: mocha's skip() takes none, and a bare
 * "pending" hides why a check did not run.
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  const runnable = ctx.test as Mocha.Hook | Mocha.Test | undefined;
  const tests = runnable?.type === 'hook' ? suiteTests(runnable.parent!) : runnable ? [runnable] : [];
  for (const t of tests) t.title += ` (skipped: ${reason})`;
  ctx.skip();
}

function suiteTests(suite: Mocha.Suite): Mocha.Runnable[] {
  return [...suite.tests, ...suite.suites.flatMap(suiteTests)];
}

/**
 * The replica set the server belongs to, from its hello reply; undefined for
 * a standalone server, which has no change streams and no transactions.
 */
export async function replicaSetName(db: Db): Promise<string | undefined> {
  const hello = await db.admin().command({ hello: 1 });
  return typeof hello.setName === 'string' ? hello.setName : undefined;
}

/** A fresh database name unless `overrides` names one. */
function testConfig(overrides: Partial<Config>): Config {
  return {
    ...loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' }),
    dbName: `test_${nanoid(10).replace(/-/g, '_')}`,
    // Every test talks from 127.0.0.1; tests of the limits set their own.
    authFailureLimit: 10_000,
    maxRowsPerSecond: 10_000_000,
    ...overrides,
  };
}

/** Log lines go to `logs` and to ALL_LOGS, so the whole-run secrets audit reads them. */
function logSink(logs: string[]): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      const lines = String(chunk).split('\n').filter(Boolean);
      logs.push(...lines);
      ALL_LOGS.push(...lines);
      done();
    },
  });
}

/**
 * Another instance on an existing database, as a second process of one
 * deployment. Unlike startService it issues no keys: rotating
 * Administrator's would end the token the first instance's tests use.
 * The caller closes it (app.close(), not dropping the shared database).
 */
export async function startInstance(dbName: string): Promise<App> {
  return startApp(testConfig({ dbName }), process.env.MONGODB_URI!, createLogger('debug', logSink([])));
}

/**
 * A user and a token made by another instance on `svc`'s database (as the
 * CLI or a sibling would make them), so `svc` has never read the key: its
 * own writes warm its cache.
 */
export async function tokenMadeElsewhere(svc: { app: App }, name: string): Promise<string> {
  const other = await startInstance(svc.app.services.storage.db.databaseName);
  try {
    const secret = newApiSecret();
    const user = await other.services.storage.users.create({ name, roles: [] });
    const { key } = await other.services.storage.keys.issueSecret(user, hashSecret(secret), { expiresAt: null, graceSeconds: 0 });
    ISSUED_SECRETS.add(secret);
    return `${key.api_key}:${secret}`;
  } finally {
    await other.close();
  }
}

export async function startService(overrides: Partial<Config> = {}): Promise<TestService> {
  const logs: string[] = [];
  const sink = logSink(logs);
  const app = await startApp(testConfig(overrides), process.env.MONGODB_URI!, createLogger('debug', sink));

  const asAdmin = async (method: string, params: unknown): Promise<any> => {
    const admin = await app.services.storage.users.get(ADMINISTRATOR);
    const ctx: CallContext = {
      caller: operator(admin),
      requestId: 'test',
      address: 'test',
      door: 'internal',
      log: createLogger('debug', sink),
      services: app.services,
    };
    const result = await app.dispatcher.invoke(method, params, ctx);
    remember(result);
    return result;
  };
  const adminToken = tokenOf(await asAdmin('frappe.core.doctype.user.user.generate_keys', { user: ADMINISTRATOR }));

  const post = async (body: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const res = await fetch(`${app.url}/rpc`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  };

  const call = async (method: string, params?: unknown, token: string | null = adminToken) => {
    const request: Record<string, unknown> = { jsonrpc: '2.0', id: 1, method };
    if (params !== undefined) request.params = params;
    const reply = await post(request, token === null ? {} : bearer(token));
    remember(reply.body?.result);
    if (reply.body && 'result' in reply.body && app.dispatcher.has(method)) {
      const validate = app.dispatcher.schemas.validator(`${method}.result.json`);
      expect(validate(reply.body.result), `${method} result schema: ${JSON.stringify(validate.errors)}`).to.equal(true);
    }
    return reply;
  };

  return {
    app,
    url: app.url,
    logs,
    adminToken,
    post,
    call,
    asAdmin,
    async userWithToken(name, roles = [], extra = {}) {
      await asAdmin('user.create', { name, roles, ...extra });
      return tokenOf(await asAdmin('frappe.core.doctype.user.user.generate_keys', { user: name }));
    },
    async close() {
      await app.services.storage.db.dropDatabase();
      await app.close();
    },
  };
}

/**
 * A service as a fixture of the describe block it is called in: useService()
 * and useSharedService() register the block's before/after hooks and return
 * an object whose fields work inside its tests and hooks (reading one while
 * the file loads, before the hooks ran, throws).
 */
export interface ServiceFixture extends TestService {
  /** The service's database, to check what a call stored. */
  readonly db: Db;
  collection(name: string): Collection;
  /** A user name no other test of the run uses: `${prefix}${n}-<run id>@example.com`. */
  unique(prefix?: string): string;
  /** Creates a user with a unique name (as Administrator, without HTTP); returns the name. */
  newUser(roles?: string[], extra?: Record<string, unknown>): Promise<string>;
  /** newUser, and a token for it from generate_keys (with `key`'s scopes or expiry, if any). */
  newUserWithToken(roles?: string[], key?: { scopes?: string[]; expires_at?: string | null }): Promise<{ name: string; token: string }>;
  /**
   * The users, keys and audit log as stored, as text: equal before and after
   * a call means the call wrote none of them (last use times, written apart
   * in key_usage after the answer, are left out).
   */
  stored(): Promise<string>;
}

const STORED = ['users', 'api_keys', 'audit_log'];
const RUN_ID = nanoid(6)
  .replace(/[^A-Za-z0-9]/g, 'x')
  .toLowerCase();
let uniqueCount = 0;

/** The fixture's fields, each read from the service `current()` returns when it is read. */
function fixture(current: () => TestService): ServiceFixture {
  const unique = (prefix = 'u') => `${prefix}${++uniqueCount}-${RUN_ID}@example.com`;
  const newUser = async (roles: string[] = [], extra: Record<string, unknown> = {}) => {
    const name = unique();
    await current().asAdmin('user.create', { name, roles, ...extra });
    return name;
  };
  return {
    get app() {
      return current().app;
    },
    get url() {
      return current().url;
    },
    get logs() {
      return current().logs;
    },
    get adminToken() {
      return current().adminToken;
    },
    get db() {
      return current().app.services.storage.db;
    },
    post: (body, headers) => current().post(body, headers),
    call: (method, params, token) => current().call(method, params, token),
    userWithToken: (name, roles, extra) => current().userWithToken(name, roles, extra),
    asAdmin: (method, params) => current().asAdmin(method, params),
    close: () => current().close(),
    collection: (name) => current().app.services.storage.db.collection(name),
    unique,
    newUser,
    async stored() {
      const db = current().app.services.storage.db;
      const all = await Promise.all(STORED.map((c) => db.collection(c).find().sort({ _id: 1 }).toArray()));
      return JSON.stringify(Object.fromEntries(STORED.map((c, i) => [c, all[i]])));
    },
    async newUserWithToken(roles = [], key = {}) {
      const name = await newUser(roles);
      return { name, token: tokenOf(await current().asAdmin('frappe.core.doctype.user.user.generate_keys', { user: name, ...key })) };
    },
  };
}

/**
 * A fresh service with its own database for this describe block: started in
 * its before hook, closed (database dropped) in its after hook. For tests
 * that count or list everything, change Administrator, or depend on a
 * special configuration nobody else shares.
 */
export function useService(overrides: Partial<Config> = {}): ServiceFixture {
  let svc: TestService | undefined;
  before(async () => {
    svc = await startService(overrides);
  });
  after(async () => {
    await svc?.close();
    svc = undefined;
  });
  return fixture(() => {
    if (!svc) throw new Error('useService: the service is there only inside tests and hooks of its describe block');
    return svc;
  });
}

const shared = new Map<string, Promise<TestService>>();

/**
 * One service per distinct configuration for the whole run, shared by every
 * describe block (in any file) that asks for the same overrides: started by
 * the first block's before hook, closed once, after all tests (by
 * closeSharedServices in the root after-all hook, test/global-database.ts).
 * Its database holds every other sharing test's users and keys, so a test
 * on it makes its own users (unique, newUser, newUserWithToken), counts
 * and lists only those, and never changes Administrator or its key.
 */
export function useSharedService(overrides: Partial<Config> = {}): ServiceFixture {
  const key = JSON.stringify(Object.entries(overrides).sort(([a], [b]) => a.localeCompare(b)));
  let svc: TestService | undefined;
  before(async () => {
    if (!shared.has(key)) shared.set(key, startService(overrides));
    svc = await shared.get(key)!;
  });
  return fixture(() => {
    if (!svc) throw new Error('useSharedService: the service is there only inside tests and hooks of its describe block');
    return svc;
  });
}

/** Closes the shared services (the root after-all hook calls it). */
export async function closeSharedServices(): Promise<void> {
  const started = [...shared.values()];
  shared.clear();
  const results = await Promise.allSettled(started.map(async (s) => (await s).close()));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Asserts a JSON-RPC error reply with this code. */
export function expectError(reply: Reply, code: number, status = 200): any {
  expect(reply.status, reply.text).to.equal(status);
  expect(reply.body?.error?.code, reply.text).to.equal(code);
  return reply.body.error;
}

export function expectResult(reply: Reply): any {
  expect(reply.status, reply.text).to.equal(200);
  expect(reply.body, reply.text).to.have.property('result');
  return reply.body.result;
}

/**
 * One request to a REST route. `body` is sent as it is (a string) with
 * `type`; Authorization is `token <token>` (Administrator's by default)
 * unless `headers` has one, and none with `token: null`. Secrets shown in
 * `message` or `data` join the log audit's list.
 */
export async function rest(
  svc: TestService,
  verb: string,
  path: string,
  opts: { token?: string | null; headers?: Record<string, string>; body?: string; type?: string } = {},
): Promise<Reply> {
  const headers = new Headers(opts.headers);
  if (opts.token !== null && !headers.has('authorization')) headers.set('authorization', `token ${opts.token ?? svc.adminToken}`);
  if (opts.type) headers.set('content-type', opts.type);
  const res = await fetch(`${svc.url}${path}`, { method: verb, headers, body: opts.body });
  const text = await res.text();
  const body = text ? JSON.parse(text) : undefined;
  remember(body?.message);
  remember(body?.data);
  return { status: res.status, headers: res.headers, text, body };
}

/** Asserts Frappe's error body; returns its _server_messages' texts. */
export function expectFrappeError(reply: Reply, status: number, excType: string): string[] {
  expect(reply.status, reply.text).to.equal(status);
  const { body } = reply;
  expect(body).to.have.keys('exc_type', 'exception', 'exc', '_server_messages');
  expect(body.exc_type, reply.text).to.equal(excType);
  expect(body.exception).to.match(new RegExp(`^frappe\\.exceptions\\.${excType}: `));
  // frappe-client raises on `exc`; Frappe's own FrappeClient shows json.loads(exc)[0].
  expect(JSON.parse(body.exc)).to.deep.equal([body.exception]);
  expect(body.exc).to.not.match(/Traceback|\n\s+at /);
  const messages = (JSON.parse(body._server_messages) as string[]).map((m) => JSON.parse(m));
  for (const m of messages) expect(m).to.have.keys('message', 'title', 'indicator');
  for (const m of messages) expect(m.indicator).to.equal('red');
  return messages.map((m) => m.message);
}

/**
 * One request from a chosen loopback address on a fresh connection, so a
 * test can be several clients (the failure limits count per address).
 * A `body` goes as JSON.
 */
export function requestFrom(
  svc: { url: string },
  from: string,
  verb: string,
  path: string,
  opts: { authorization?: string; body?: unknown } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any; ms: number }> {
  const url = new URL(`${svc.url}${path}`);
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.authorization) headers.authorization = opts.authorization;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: verb, localAddress: from, agent: false, headers },
      (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(data), ms: Date.now() - started });
          } catch (err) {
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on JSON.parse's SyntaxError unchanged
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
  });
}
