/**
 * The leaks scenario (issue 16, item 6): `npm run bench -- --only leaks`.
 *
 * 1. Propagation. --instances (2) copies of dist/main.js on one database,
 *    with a signing key made here (SECRET_SCANNING_KEYS_FILE). --leak-tokens
 *    / 2 users get a key each, and every instance is called with every one
 *    of them first, so each sits in every instance's cache. Then one
 *    signed report of --leak-tokens tokens (half those live secrets, half
 *    well-formed secrets of no key, shuffled) goes to instance 1: t0 is
 *    when it is sent. Printed:
 *    - when its answer came;
 *    - when each instance had dropped every key the report ended: its
 *      /metrics count of key events received
 *      (tokenauth_revocation_propagation_seconds_count, read every
 *      METRICS_EVERY_MS) has grown by one event per live token. An instance
 *      drops a key in the same tick as it counts its event, and the report
 *      writes its events only once the keys are ended in the database, so
 *      from then on its every check of them reads the database and refuses
 *      them. End to end is the later of the answer and the last instance;
 *    - the proof, black box: then every instance is called with every live
 *      token (WATCH_CONCURRENCY calls at a time per instance), and every
 *      one of those calls must be refused (401), or the bench fails. How
 *      long those calls took is printed too: it is what a refused check
 *      costs (a lookup and two failure counts in the database each), not
 *      how long propagation takes, which is why it is not the measure.
 *    The instances run with AUTH_FAILURE_LIMIT out of the way: every check
 *    after the report is a failed authentication.
 * 2. Flood. One more instance with the default failure limits. A bystander
 *    (127.0.0.1, --bystander-connections keep-alive loops of a valid
 *    frappe.auth.get_logged_user) is measured for --flood-seconds alone,
 *    then while --flood-connections keep-alive loops from 127.0.0.2 send
 *    reports naming the configured key with a signature that does not fit
 *    (the dearer kind of unsigned report: its body is read and checked).
 *    Printed: the flood's answers per second and how many were 401 / 429,
 *    and the bystander's calls per second both times.
 *
 * Uses the database run.ts gives it (MONGODB_URI, or a local one).
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { freePort } from '../src/localdb/index.js';
import { withDatabase } from '../src/config.js';
import { Storage } from '../src/store/storage.js';
import { hashSecret, newApiSecret } from '../src/auth/token.js';

export interface LeakOptions {
  baseUri: string;
  tmp: string;
  instances: number;
  tokens: number;
  floodSeconds: number;
  floodConnections: number;
  bystanderConnections: number;
}

export interface LeakFigures {
  instances: number;
  tokens: number;
  live: number;
  answeredMs: number;
  /** When each instance had received the events of every key the report ended (from t0). */
  droppedMs: number[];
  /** The later of the answer and the last instance. */
  endToEndMs: number;
  /** Calls made after that, to see every live token refused by every instance (all were). */
  checks: number;
  /** How long those calls took (each refused one costs a lookup and two failure counts). */
  checksMs: number;
  goalMs: number;
  flood: {
    seconds: number;
    connections: number;
    answersPerSecond: number;
    unauthorized: number;
    rateLimited: number;
    other: number;
    bystanderAloneRps: number;
    bystanderFloodedRps: number;
    bystanderRatio: number;
  };
}

/** Issue 16's goal, printed as information. */
const GOAL_MS = 2000;
const CHECK_CONCURRENCY = 64;

export async function leaks(opts: LeakOptions): Promise<LeakFigures> {
  const dbName = `tokenauth_bench_leaks_${Date.now()}`;
  const uri = withDatabase(opts.baseUri, dbName);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyId = createHash('sha256').update(`bench ${Date.now()}`).digest('hex');
  const keysFile = path.join(opts.tmp, 'scanning-keys.json');
  fs.writeFileSync(
    keysFile,
    JSON.stringify({ public_keys: [{ key_identifier: keyId, key: publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }] }),
  );
  const children: ChildProcess[] = [];
  const storage = await Storage.open(uri, dbName, 10_000);
  try {
    const liveCount = Math.floor(opts.tokens / 2);
    console.error(`leaks: making ${liveCount} keys`);
    const live = await makeKeys(storage, liveCount, 'leak');
    const [bystander] = await makeKeys(storage, 1, 'bystander');
    const [reader] = await makeKeys(storage, 1, 'metrics', ['Metrics Reader']);
    const env = { MONGODB_URI: uri, SECRET_SCANNING_KEYS_FILE: keysFile, LOG_LEVEL: 'warn' };
    const instances: string[] = [];
    for (let i = 1; i <= opts.instances; i++) instances.push(await serve(children, opts.tmp, `leaks-${i}`, { ...env, AUTH_FAILURE_LIMIT: '1000000' }));

    const agent = new http.Agent({ keepAlive: true, maxSockets: CHECK_CONCURRENCY });
    console.error(`leaks: warming ${live.length} tokens on ${instances.length} instances`);
    for (const url of instances) {
      const statuses = await pool(live, (t) => whoami(agent, url, t.token));
      if (statuses.some((s) => s !== 200)) throw new Error(`leaks: a live token was refused before the report on ${url}`);
    }

    const made = Array.from({ length: opts.tokens - liveCount }, () => newApiSecret());
    const body = JSON.stringify(
      shuffle([...live.map((t) => t.secret), ...made]).map((token) => ({
        token,
        type: 'tokenauth_api_secret',
        url: 'https://github.com/bench/leaks/blob/x/f.env',
        source: 'content',
      })),
    );
    const signature = sign('sha256', Buffer.from(body), { key: privateKey, dsaEncoding: 'der' }).toString('base64');

    const readerAuth = `token ${reader!.token}`;
    const before = await Promise.all(instances.map((url) => eventsReceived(agent, url, readerAuth)));
    console.error(`leaks: one signed report of ${opts.tokens} tokens (${liveCount} live) to instance 1`);
    const t0 = performance.now();
    const dropped = instances.map((url, i) => untilReceived(agent, url, readerAuth, before[i]! + liveCount, t0));
    const answer = await post(agent, `${instances[0]}/api/secret-scanning/github`, body, {
      'Github-Public-Key-Identifier': keyId,
      'Github-Public-Key-Signature': signature,
    });
    const answeredMs = performance.now() - t0;
    if (answer.status !== 200) throw new Error(`leaks: the report was answered ${answer.status}: ${answer.body}`);
    const labels = (JSON.parse(answer.body) as { label: string }[]).filter((f) => f.label === 'true_positive').length;
    if (labels !== liveCount) throw new Error(`leaks: ${labels} true positives, expected ${liveCount}`);
    const droppedMs = await Promise.all(dropped);
    const endToEndMs = Math.max(answeredMs, ...droppedMs);

    const c0 = performance.now();
    const checks = await allRefused(agent, instances, live);
    const checksMs = performance.now() - c0;
    agent.destroy();
    console.error(
      `leaks: answered after ${Math.round(answeredMs)} ms, every ended key dropped by every instance after ${Math.round(Math.max(...droppedMs))} ms; ` +
        `then ${checks} checks, all refused, in ${Math.round(checksMs)} ms`,
    );

    const floodUrl = await serve(children, opts.tmp, 'leaks-flood', env);
    const flood = await floodFigures(floodUrl, bystander!.token, keyId, opts);
    return {
      instances: opts.instances,
      tokens: opts.tokens,
      live: liveCount,
      answeredMs: Math.round(answeredMs),
      droppedMs: droppedMs.map(Math.round),
      endToEndMs: Math.round(endToEndMs),
      checks,
      checksMs: Math.round(checksMs),
      goalMs: GOAL_MS,
      flood,
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await storage.db.dropDatabase().catch(() => undefined);
    await storage.close();
  }
}

export function printLeaks(f: LeakFigures): void {
  const fl = f.flood;
  console.log(`\nleaks: a signed report of ${f.tokens} tokens (${f.live} live) to one of ${f.instances} instances on one database`);
  console.log(`  answered after                              ${f.answeredMs} ms`);
  console.log(`  every ended key dropped by instance         ${f.droppedMs.map((ms, i) => `${i + 1}: ${ms} ms`).join(', ')}`);
  console.log(`  end to end (the later of the two)           ${f.endToEndMs} ms   (goal < ${f.goalMs} ms: ${f.endToEndMs < f.goalMs ? 'met' : 'NOT met'})`);
  console.log(`  then every live token on every instance     ${f.checks} checks, all refused, in ${f.checksMs} ms (a refused check's own cost)`);
  console.log(`leaks: an unsigned flood (${fl.connections} connections, ${fl.seconds} s, one address) while a bystander calls`);
  console.log(`  flood refused                               ${fl.answersPerSecond} /s (401: ${fl.unauthorized}, 429: ${fl.rateLimited}, other: ${fl.other})`);
  console.log(`  bystander alone                             ${fl.bystanderAloneRps} calls/s`);
  console.log(`  bystander during the flood                  ${fl.bystanderFloodedRps} calls/s (${fl.bystanderRatio} of alone)`);
}

interface Made {
  token: string;
  secret: string;
}

async function makeKeys(storage: Storage, n: number, prefix: string, roles: string[] = []): Promise<Made[]> {
  const stamp = Date.now().toString(36);
  return pool(
    Array.from({ length: n }, (_, i) => i),
    async (i) => {
      const secret = newApiSecret();
      const user = await storage.users.create({ name: `${prefix}-${stamp}-${i}`, roles });
      const { key } = await storage.keys.issueSecret(user, hashSecret(secret), { expiresAt: null, graceSeconds: 0 });
      return { token: `${key.api_key}:${secret}`, secret };
    },
    16,
  );
}

async function serve(children: ChildProcess[], tmp: string, name: string, env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const log = fs.openSync(path.join(tmp, `${name}.log`), 'w');
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', log, log],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`leaks: ${name} did not start (see ${path.join(tmp, `${name}.log`)})`);
}

/** `work` over `items`, `concurrency` at a time; the results in order. */
async function pool<T, R>(items: readonly T[], work: (item: T) => Promise<R>, concurrency = CHECK_CONCURRENCY): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

/** Checks in flight per instance: enough to keep it busy, few enough not to queue in the database. */
const WATCH_CONCURRENCY = 8;
/** How often each instance's count of key events received is read while the report is under way. */
const METRICS_EVERY_MS = 25;

/** An instance's count of key events received (tokenauth_revocation_propagation_seconds_count). */
async function eventsReceived(agent: http.Agent, url: string, authorization: string): Promise<number> {
  const res = await get(agent, `${url}/metrics`, { authorization });
  if (res.status !== 200) throw new Error(`leaks: /metrics of ${url} answered ${res.status}`);
  const line = res.body.split('\n').find((l) => l.startsWith('tokenauth_revocation_propagation_seconds_count '));
  if (!line) throw new Error(`leaks: /metrics of ${url} has no tokenauth_revocation_propagation_seconds_count`);
  return Number(line.split(' ')[1]);
}

/** When (ms after t0) the instance's count of key events received reached `target`; read every METRICS_EVERY_MS. */
async function untilReceived(agent: http.Agent, url: string, authorization: string, target: number, t0: number): Promise<number> {
  const deadline = t0 + 60_000;
  for (;;) {
    const seen = await eventsReceived(agent, url, authorization);
    const at = performance.now() - t0;
    if (seen >= target) return at;
    if (performance.now() > deadline) throw new Error(`leaks: ${url} received ${seen} of ${target} key events in a minute`);
    await new Promise((r) => setTimeout(r, METRICS_EVERY_MS));
  }
}

/**
 * Calls every instance with every live token, each pair once
 * (WATCH_CONCURRENCY calls at a time per instance), and fails unless every
 * call is refused (401). Returns how many calls were made.
 */
async function allRefused(agent: http.Agent, instances: readonly string[], live: readonly Made[]): Promise<number> {
  const counts = await Promise.all(
    instances.map(async (url) => {
      const statuses = await pool(shuffle(live.map((t) => t.token)), (token) => whoami(agent, url, token), WATCH_CONCURRENCY);
      const admitted = statuses.filter((s) => s !== 401);
      if (admitted.length > 0)
        throw new Error(`leaks: ${url} answered ${admitted.length} checks of ended keys with ${[...new Set(admitted)].join(', ')}, not 401`);
      return statuses.length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function post(agent: http.Agent, url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(agent: http.Agent, url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const WHOAMI = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' });
const whoami = async (agent: http.Agent, url: string, token: string) => (await post(agent, `${url}/rpc`, WHOAMI, { authorization: `token ${token}` })).status;

/**
 * A worker thread: `w.connections` keep-alive loops from `w.from`, each
 * sending `w.body` with `w.headers` to `w.url` until told to stop; then the
 * count of answers by status.
 */
const LOOPS = `
const http = require('node:http');
const { parentPort, workerData: w } = require('node:worker_threads');
const agent = new http.Agent({ keepAlive: true, localAddress: w.from, maxSockets: w.connections });
let stop = false;
parentPort.on('message', () => (stop = true));
const byStatus = {};
const post = () => new Promise((resolve) => {
  const req = http.request(w.url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...w.headers } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
    res.on('error', () => resolve(0));
  });
  req.on('error', () => resolve(0));
  req.end(w.body);
});
(async () => {
  await Promise.all(Array.from({ length: w.connections }, async () => {
    while (!stop) {
      const status = await post();
      byStatus[status] = (byStatus[status] || 0) + 1;
    }
  }));
  agent.destroy();
  parentPort.postMessage(byStatus);
})();
`;

function loops(data: { url: string; from: string; connections: number; body: string; headers: Record<string, string> }): {
  stop(): Promise<Record<string, number>>;
} {
  const worker = new Worker(LOOPS, { eval: true, workerData: data });
  const done = new Promise<Record<string, number>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const counts = await done;
      await worker.terminate();
      return counts;
    },
  };
}

async function floodFigures(url: string, bystanderToken: string, keyId: string, opts: LeakOptions): Promise<LeakFigures['flood']> {
  const seconds = opts.floodSeconds;
  const wait = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
  const bystanderLoops = () =>
    loops({
      url: `${url}/rpc`,
      from: '127.0.0.1',
      connections: opts.bystanderConnections,
      body: WHOAMI,
      headers: { authorization: `token ${bystanderToken}` },
    });
  const rate = (counts: Record<string, number>) => Math.round((counts['200'] ?? 0) / seconds);

  console.error(`leaks: the bystander alone for ${seconds} s`);
  const alone = bystanderLoops();
  await wait(seconds);
  const aloneRps = rate(await alone.stop());

  // A report of the usual size, naming the configured key, with a signature that does not fit.
  const body = JSON.stringify(
    Array.from({ length: 10 }, () => ({ token: newApiSecret(), type: 'tokenauth_api_secret', url: 'https://github.com/x/y', source: 'content' })),
  );
  const badSignature = sign('sha256', Buffer.from('something else'), generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey).toString('base64');
  console.error(`leaks: the bystander during a flood of ${opts.floodConnections} connections for ${seconds} s`);
  const flood = loops({
    url: `${url}/api/secret-scanning/github`,
    from: '127.0.0.2',
    connections: opts.floodConnections,
    body,
    headers: { 'Github-Public-Key-Identifier': keyId, 'Github-Public-Key-Signature': badSignature },
  });
  await wait(1); // the flood under way
  const during = bystanderLoops();
  await wait(seconds);
  const floodedRps = rate(await during.stop());
  const counts = await flood.stop();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const unauthorized = counts['401'] ?? 0;
  const rateLimited = counts['429'] ?? 0;
  return {
    seconds,
    connections: opts.floodConnections,
    answersPerSecond: Math.round(total / (seconds + 1)),
    unauthorized,
    rateLimited,
    other: total - unauthorized - rateLimited,
    bystanderAloneRps: aloneRps,
    bystanderFloodedRps: floodedRps,
    bystanderRatio: Math.round((floodedRps / Math.max(1, aloneRps)) * 100) / 100,
  };
}
