/**
 * POST /api/secret-scanning/github (src/http/doors/secret-scanning.ts) and
 * the leak policy (src/methods/leaks.ts, src/store/leaks.ts), over real
 * HTTP on a real database, with a P-256 key pair made here (never a real
 * GitHub key): signatures, bounds, idempotence, both policies, audit
 * entries, a second instance, and no reported token in any log line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { expect } from 'chai';
import type { CommandStartedEvent } from 'mongodb';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { IN_CHUNK } from '../src/store/leaks.js';
import { startApp, type App } from '../src/app.js';
import { newApiKey, newApiSecret } from '../src/auth/token.js';
import { ISSUED_SECRETS, useService, bearer, expectResult, sleep, eventually, type ServiceFixture } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
const PATH = '/api/secret-scanning/github';

/** A key pair of the kind GitHub signs with, and its entry in GitHub's key list. */
function signingKey(id: string): { id: string; privateKey: KeyObject; entry: { key_identifier: string; key: string; is_current: boolean } } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { id, privateKey, entry: { key_identifier: id, key: publicKey.export({ type: 'spki', format: 'pem' }).toString(), is_current: true } };
}

const GITHUB = signingKey(createHash('sha256').update('test key').digest('hex'));
const STRANGER = signingKey(GITHUB.id); // the same identifier, another key: what a forger would try
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-scanning-'));
const KEYS_FILE = path.join(dir, 'keys.json');
fs.writeFileSync(KEYS_FILE, JSON.stringify({ public_keys: [GITHUB.entry] }));

const scanning = (extra: Partial<Config['secretScanning']> = {}): Config['secretScanning'] => ({
  keysFile: KEYS_FILE,
  keysUrl: undefined,
  keysRefreshMs: 3_600_000,
  maxBodyBytes: 64 * 1024,
  maxTokens: 50,
  ...extra,
});

interface Sent {
  status: number;
  body: any;
  headers: Headers;
}

/** A report as GitHub sends it: the body signed as given (`tamper` changes it after signing). */
async function report(
  url: string,
  body: unknown,
  opts: { key?: typeof GITHUB; id?: string; tamper?: (s: string) => string; headers?: boolean; forwardedFor?: string } = {},
): Promise<Sent> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const key = opts.key ?? GITHUB;
  const signature = sign('sha256', Buffer.from(text), { key: key.privateKey, dsaEncoding: 'der' }).toString('base64');
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (opts.forwardedFor !== undefined) headers['X-Forwarded-For'] = opts.forwardedFor;
  if (opts.headers !== false) {
    headers['Github-Public-Key-Identifier'] = opts.id ?? key.id;
    headers['Github-Public-Key-Signature'] = signature;
  }
  const res = await fetch(`${url}${PATH}`, { method: 'POST', headers, body: opts.tamper ? opts.tamper(text) : text });
  const reply = await res.text();
  return { status: res.status, headers: res.headers, body: reply ? JSON.parse(reply) : undefined };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const entry = (token: string) => ({ token, type: 'tokenauth_api_secret', url: 'https://github.com/octo/repo/blob/abc/config.env', source: 'content' });
/** Tokens reported here join the whole run's log audit (test/global-database.ts). */
const reported = (token: string) => (ISSUED_SECRETS.add(token.includes(':') ? token.split(':')[1]! : token), token);

/** A user with a live key: its token (api_key:api_secret) and bare secret. */
async function liveKey(svc: ServiceFixture, key: Record<string, unknown> = {}): Promise<{ name: string; token: string; secret: string; apiKey: string }> {
  const { name, token } = await svc.newUserWithToken([], key);
  const [apiKey, secret] = token.split(':') as [string, string];
  reported(token);
  return { name, token, secret, apiKey };
}

const whoami = (svc: { url: string }, token: string) =>
  fetch(`${svc.url}/rpc`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer(token) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
const works = async (svc: { url: string }, token: string) => expect((await whoami(svc, token)).body).to.have.property('result');
const refused = async (svc: { url: string }, token: string) => expect((await whoami(svc, token)).status).to.equal(401);

const leakEntries = (svc: ServiceFixture, user: string) => svc.collection('audit_log').find({ action: 'key.leaked', target: user }).toArray();

describe('secret scanning: POST /api/secret-scanning/github (LEAK_POLICY=revoke)', function () {
  this.timeout(30_000);
  const svc = useService({ secretScanning: scanning() });

  describe('a signed report', () => {
    it('revokes the live secret it names, bare or as key:secret, and answers GitHub feedback by SHA-256', async () => {
      const bare = await liveKey(svc);
      const pair = await liveKey(svc);
      const fake = `tas_${'A'.repeat(30)}`; // the right shape, a wrong checksum
      const unknown = reported(newApiSecret()); // a checksum that holds, no key
      const tokens = [bare.secret, pair.token, fake, unknown];
      const sent = await report(svc.url, tokens.map(entry));
      expect(sent.status, JSON.stringify(sent.body)).to.equal(200);
      expect(sent.body).to.deep.equal([
        { token_hash: sha256(bare.secret), token_type: 'tokenauth_api_secret', label: 'true_positive' },
        { token_hash: sha256(pair.token), token_type: 'tokenauth_api_secret', label: 'true_positive' },
        { token_hash: sha256(fake), token_type: 'tokenauth_api_secret', label: 'false_positive' },
        { token_hash: sha256(unknown), token_type: 'tokenauth_api_secret', label: 'false_positive' },
      ]);
      await refused(svc, bare.token);
      await refused(svc, pair.token);
      expect(
        await eventually(
          () => svc.collection('api_keys').countDocuments({ api_key: { $in: [bare.apiKey, pair.apiKey] } }),
          (n) => n === 0,
        ),
        'deleted after the answer',
      ).to.equal(0);
    });

    it('audits key.leaked with the url and source, and warns in the log, never with the token', async () => {
      const { name, token, secret, apiKey } = await liveKey(svc);
      const marker = svc.logs.length;
      // A url holding a secret (someone else's, or this one) is kept with the secret withheld.
      const other = reported(newApiSecret());
      const sent = await report(svc.url, [{ ...entry(secret), url: `https://github.com/o/r/blob/x/a.env#${other}` }]);
      expect(sent.status).to.equal(200);
      const [audit, ...more] = await leakEntries(svc, name);
      expect(more).to.have.length(0);
      expect(audit).to.include({ actor: 'GitHub secret scanning', action: 'key.leaked', target: name, api_key: apiKey, source: 'github:content' });
      expect(audit!.url).to.equal('https://github.com/o/r/blob/x/a.env#tas_[withheld]');
      const listed = expectResult(await svc.call('auth.audit.list', { user: name, action: 'key.leaked' }));
      expect(listed[0]).to.include({ url: audit!.url, source: 'github:content' });
      const lines = svc.logs.slice(marker);
      const warning = lines.map((l) => JSON.parse(l)).find((l) => l.msg?.startsWith('leaked secret reported'));
      expect(warning, lines.join('\n')).to.include({ level: 40, api_key: apiKey, target: name, ended: 'revoked' });
      for (const line of svc.logs) {
        expect(line).to.not.include(secret);
        expect(line).to.not.include(token);
        expect(line).to.not.include(other);
      }
      expect(JSON.stringify(await svc.collection('audit_log').find().toArray())).to.not.include(secret);
    });

    it('ends a previous secret still in its grace, and leaves the key with another secret alone when the grace is over', async () => {
      const first = await liveKey(svc);
      const second = reported(`${first.apiKey}:${expectResult(await svc.call(GENERATE, { user: first.name, grace_seconds: 600 })).api_secret as string}`);
      await works(svc, first.token); // in grace
      expect((await report(svc.url, [entry(first.secret)])).body[0].label).to.equal('true_positive');
      await refused(svc, second); // revoke ends the key pair: the current secret too
      await refused(svc, first.token);
    });

    it('ends a secret that a rotation with a grace moves into the grace slot while the report runs (outside attacker)', async () => {
      // Before: the report found the secret current, the rotation moved it, and the report's write
      // (conditional on the current slot) missed it: the leaked secret kept working for the grace.
      for (let trial = 0; trial < 12; trial++) {
        const victim = await liveKey(svc);
        const [rotated, sent] = await Promise.all([svc.call(GENERATE, { user: victim.name, grace_seconds: 3600 }), report(svc.url, [entry(victim.secret)])]);
        expect(sent.body[0].label).to.equal('true_positive');
        reported(`${victim.apiKey}:${String(expectResult(rotated).api_secret)}`);
        await refused(svc, victim.token);
        expect(await leakEntries(svc, victim.name), `trial ${trial}: audited once`).to.have.length(1);
      }
    });

    it('acts once on a token reported twice, in one report, one after another, or at once', async () => {
      const one = await liveKey(svc);
      const twice = await report(svc.url, [entry(one.secret), entry(one.secret)]);
      expect(twice.body.map((f: any) => f.label)).to.deep.equal(['true_positive', 'true_positive']);
      const again = await report(svc.url, [entry(one.secret)]);
      expect(again.body[0].label, 'still known as ours').to.equal('true_positive');
      expect(await leakEntries(svc, one.name)).to.have.length(1);

      const racing = await liveKey(svc);
      const replies = await Promise.all(Array.from({ length: 8 }, () => report(svc.url, [entry(racing.secret)])));
      for (const r of replies) expect(r.status).to.equal(200);
      expect(await leakEntries(svc, racing.name)).to.have.length(1);
      expect(await svc.collection('key_events').countDocuments({ api_key: racing.apiKey })).to.equal(2); // generate_keys, then one revocation
    });

    it('answers an empty report with an empty array', async () => {
      const sent = await report(svc.url, []);
      expect(sent.status).to.equal(200);
      expect(sent.body).to.deep.equal([]);
    });
  });

  describe('refused, and nothing changes', () => {
    let victim: Awaited<ReturnType<typeof liveKey>>;
    let before: string;
    beforeEach(async () => {
      victim = await liveKey(svc);
      before = await svc.stored();
    });
    afterEach(async () => {
      expect(await svc.stored(), 'nothing stored changed').to.equal(before);
      await works(svc, victim.token);
    });

    const unauthorized = (sent: Sent) => {
      expect(sent.status).to.equal(401);
      expect(sent.body.error).to.match(/^Authentication failed/);
    };

    it('a report without the signature headers: 401', async () => unauthorized(await report(svc.url, [entry(victim.secret)], { headers: false })));
    it('a report signed by another key under the same identifier: 401', async () =>
      unauthorized(await report(svc.url, [entry(victim.secret)], { key: STRANGER })));
    it('a body changed after signing: 401', async () =>
      unauthorized(await report(svc.url, [entry(victim.secret)], { tamper: (t) => t.replace('"content"', '"commit"') })));
    it('an unknown key identifier: 401', async () => unauthorized(await report(svc.url, [entry(victim.secret)], { id: sha256('nobody') })));
    it('a garbage signature: 401', async () => {
      const res = await fetch(`${svc.url}${PATH}`, {
        method: 'POST',
        headers: { 'Github-Public-Key-Identifier': GITHUB.id, 'Github-Public-Key-Signature': Buffer.from('not a signature at all').toString('base64') },
        body: JSON.stringify([entry(victim.secret)]),
      });
      expect(res.status).to.equal(401);
    });

    it('a body past SECRET_SCANNING_MAX_BODY_BYTES: 413, unread', async () => {
      const huge = [entry(victim.secret), { ...entry(newApiSecret()), url: 'x'.repeat(70 * 1024) }];
      const sent = await report(svc.url, huge);
      expect(sent.status).to.equal(413);
    });

    it('more tokens than SECRET_SCANNING_MAX_TOKENS: 413 with max_tokens', async () => {
      const sent = await report(svc.url, [entry(victim.secret), ...Array.from({ length: 50 }, () => entry(newApiSecret()))]);
      expect(sent.status).to.equal(413);
      expect(sent.body.data).to.deep.equal({ max_tokens: 50 });
    });

    it('malformed entries: 400 naming each, and no entry is acted on', async () => {
      const sent = await report(svc.url, [entry(victim.secret), 'tas_x', { token: 5, type: 't' }, { token: 'x' }, { ...entry('y'), url: '' }, null]);
      expect(sent.status).to.equal(400);
      expect(sent.body.data.map((p: any) => p.path)).to.deep.equal(['/1', '/2/token', '/3/type', '/4/url', '/5']);
      const notArray = await report(svc.url, { token: victim.secret });
      expect(notArray.status).to.equal(400);
      const notJson = await report(svc.url, `[${JSON.stringify(entry(victim.secret))}`);
      expect(notJson.status).to.equal(400);
      expect(notJson.body.error).to.match(/not JSON/);
    });

    it('a GET: 405 with Allow: POST', async () => {
      const res = await fetch(`${svc.url}${PATH}`);
      expect(res.status).to.equal(405);
      expect(res.headers.get('allow')).to.equal('POST');
    });
  });
});

describe('secret scanning: unsigned floods are counted like failed guesses', function () {
  this.timeout(30_000);
  const svc = useService({ secretScanning: scanning(), authFailureLimit: 3 });

  it('past AUTH_FAILURE_LIMIT an address gets 429 (after the tarpit) before its body is read, and a signed report from elsewhere still works', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await report(svc.url, [entry(newApiSecret())], { key: STRANGER })).status);
    expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
    // The address is over its limit: even a signed report waits out the window.
    const blocked = await report(svc.url, []);
    expect(blocked.status).to.equal(429);
    expect(blocked.headers.get('retry-after')).to.match(/^\d+$/);
    // Another address is not: its signed report works.
    const other = await signedFrom(svc.url, '127.0.0.2', []);
    expect(other.status).to.equal(200);
  });
});

describe('secret scanning: unsigned floods from one IPv6 /64 are counted together (review)', function () {
  this.timeout(30_000);
  const svc = useService({ secretScanning: scanning(), host: '::', trustedProxies: ['127.0.0.1'], authFailureLimit: 3 });

  it('counts every address of a /64 as one client, as the token check does', async () => {
    // From 127.0.0.1, the trusted proxy, naming the client in X-Forwarded-For.
    const url = `http://127.0.0.1:${new URL(svc.url).port}`;
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push((await report(url, [entry(newApiSecret())], { key: STRANGER, forwardedFor: `2001:db8:1:2::${i}` })).status);
    expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
    // Another /64 is another client.
    expect((await report(url, [entry(newApiSecret())], { key: STRANGER, forwardedFor: '2001:db8:1:3::1' })).status).to.equal(401);
  });
});

/** A signed report from a chosen loopback address. */
function signedFrom(url: string, from: string, body: unknown): Promise<{ status: number; body: any }> {
  const text = JSON.stringify(body);
  const signature = sign('sha256', Buffer.from(text), { key: GITHUB.privateKey, dsaEncoding: 'der' }).toString('base64');
  const u = new URL(`${url}${PATH}`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        localAddress: from,
        agent: false,
        headers: { 'Github-Public-Key-Identifier': GITHUB.id, 'Github-Public-Key-Signature': signature, 'Content-Type': 'application/json' },
      },
      (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: data ? JSON.parse(data) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

describe('secret scanning: LEAK_POLICY=expire', function () {
  this.timeout(30_000);
  const GRACE_S = 2;
  const svc = useService({ secretScanning: scanning(), leakPolicy: 'expire', leakGraceSeconds: GRACE_S });

  it('leaves the leaked secret working until LEAK_GRACE_SECONDS have passed, then refuses it; a rotation issues a working secret', async () => {
    const leaked = await liveKey(svc);
    const started = Date.now();
    const sent = await report(svc.url, [entry(leaked.secret)]);
    expect(sent.body[0].label).to.equal('true_positive');
    const key = (await svc.collection('api_keys').findOne({ api_key: leaked.apiKey }))!;
    expect(key.previous_valid_until.getTime()).to.be.within(started + GRACE_S * 1000 - 1000, Date.now() + GRACE_S * 1000);
    const [audit] = await leakEntries(svc, leaked.name);
    expect(audit).to.include({ api_key: leaked.apiKey, source: 'github:content' });
    // Behaviour at the two ends of the grace, not its length: before it ends, and once it has.
    if (Date.now() < key.previous_valid_until.getTime() - 200) await works(svc, leaked.token);
    while (Date.now() <= key.previous_valid_until.getTime()) await sleep(100);
    await refused(svc, leaked.token);
    const fresh = expectResult(await svc.call(GENERATE, { user: leaked.name }));
    reported(fresh.api_secret);
    await works(svc, `${leaked.apiKey}:${fresh.api_secret as string}`);
  });

  it('acts once: a second report, or eight at once, neither extends nor repeats it', async () => {
    const leaked = await liveKey(svc);
    const replies = await Promise.all(Array.from({ length: 8 }, () => report(svc.url, [entry(leaked.secret)])));
    for (const r of replies) expect(r.body[0].label).to.equal('true_positive');
    const until = (await svc.collection('api_keys').findOne({ api_key: leaked.apiKey }))!.previous_valid_until.getTime();
    await report(svc.url, [entry(leaked.token)]);
    expect((await svc.collection('api_keys').findOne({ api_key: leaked.apiKey }))!.previous_valid_until.getTime()).to.equal(until);
    expect(await leakEntries(svc, leaked.name)).to.have.length(1);
  });
});

describe('secret scanning: another instance refuses a revoked secret; a bad checksum costs no lookup', function () {
  this.timeout(30_000);
  const a = useService({ secretScanning: scanning() });
  let b: App;
  const seen: CommandStartedEvent[] = [];

  before(async () => {
    const config: Config = {
      ...loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' }),
      dbName: a.db.databaseName,
      authFailureLimit: 10_000,
      maxRowsPerSecond: 10_000_000,
      secretScanning: scanning({ maxTokens: 1000, maxBodyBytes: 1024 * 1024 }),
    };
    const uri = process.env.MONGODB_URI!;
    b = await startApp(config, `${uri}${uri.includes('?') ? '&' : '?'}monitorCommands=true`, createLogger('silent'));
    b.services.storage.client.on('commandStarted', (e) => seen.push(e));
  });
  after(async () => {
    await b.close();
  });

  it('a secret reported to A is refused by B, where it was cached', async () => {
    const leaked = await liveKey(a);
    await works(b, leaked.token);
    await works(b, leaked.token); // from B's cache now
    expect((await report(a.url, [entry(leaked.secret)])).status).to.equal(200);
    // The change reaches B through key_events: milliseconds, within a second (test/key-events.test.ts).
    const deadline = Date.now() + 5000;
    while ((await whoami(b, leaked.token)).status !== 401) {
      expect(Date.now(), 'refused by B').to.be.below(deadline);
      await sleep(10);
    }
  });

  it('a report of 200 tokens acts once per live secret, answers each label in order, in a dozen database commands; so do two at once', async () => {
    const live = await Promise.all(Array.from({ length: 60 }, () => liveKey(a)));
    const dead = await Promise.all(Array.from({ length: 10 }, () => liveKey(a)));
    expect(
      (
        await report(
          b.url,
          dead.map((k) => entry(k.secret)),
        )
      ).status,
    ).to.equal(200); // ended before: still ours
    const badChecksum = (t: string) => `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`;
    // Each entry with the label it must get: live secrets bare and as key:secret, some twice, some in both forms.
    const entries: [string, string][] = [
      ...live.map((k, i): [string, string] => [i < 30 ? k.secret : k.token, 'true_positive']),
      ...live.filter((_, i) => i % 3 === 0).map((k, i): [string, string] => [i < 10 ? k.secret : k.token, 'true_positive']),
      ...live.filter((_, i) => i % 10 === 1).map((k, i): [string, string] => [i < 3 ? k.token : k.secret, 'true_positive']),
      ...dead.map((k): [string, string] => [k.token, 'true_positive']),
      ...live.slice(0, 30).map((k): [string, string] => [badChecksum(k.secret), 'false_positive']),
    ];
    while (entries.length < 200) entries.push([reported(newApiSecret()), 'false_positive']);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    const from = seen.length;
    const sent = await report(
      b.url,
      entries.map(([t]) => entry(t)),
    );
    expect(sent.status, JSON.stringify(sent.body)).to.equal(200);
    expect(sent.body.map((f: any) => [f.token_hash, f.label])).to.deep.equal(entries.map(([t, label]) => [sha256(t), label]));
    // The report's own commands: a few per chunk of IN_CHUNK tokens (three finds, one update, two
    // deletes) and three inserts, not one or more per token.
    const stores = ['api_keys', 'key_usage', 'leaked_secrets', 'audit_log', 'key_events'];
    const commands = seen
      .slice(from)
      .filter((e) => stores.includes(String(e.command[e.commandName])) && ['find', 'insert', 'update', 'delete'].includes(e.commandName));
    const chunks = Math.ceil(entries.length / IN_CHUNK);
    expect(commands.length, commands.map((e) => `${e.commandName} ${String(e.command[e.commandName])}`).join(', ')).to.be.at.most(6 * chunks + 6);
    expect(commands.length).to.be.below(entries.length / 3);

    const apiKeys = live.map((k) => k.apiKey);
    expect(
      await eventually(
        () => a.collection('api_keys').countDocuments({ api_key: { $in: apiKeys } }),
        (n) => n === 0,
      ),
      'deleted after the answer',
    ).to.equal(0);
    const audits = await a
      .collection('audit_log')
      .find({ action: 'key.leaked', api_key: { $in: [...apiKeys, ...dead.map((k) => k.apiKey)] } })
      .toArray();
    expect(audits.map((e) => e.api_key).sort()).to.deep.equal([...apiKeys, ...dead.map((k) => k.apiKey)].sort(), 'one audit entry per secret ended');
    expect(await a.collection('key_events').countDocuments({ api_key: { $in: apiKeys } })).to.equal(2 * live.length); // generate_keys, then one end
    for (const k of live.slice(0, 5)) await refused(b, k.token);

    // Two overlapping reports at once, to A and to B: each secret is ended by exactly one of them.
    const more = await Promise.all(Array.from({ length: 40 }, () => liveKey(a)));
    const [toA, toB] = await Promise.all([
      report(
        a.url,
        more.slice(0, 30).map((k) => entry(k.secret)),
      ),
      report(
        b.url,
        more.slice(10).map((k) => entry(k.token)),
      ),
    ]);
    expect(toA.body.map((f: any) => f.label)).to.deep.equal(Array(30).fill('true_positive'));
    expect(toB.body.map((f: any) => f.label)).to.deep.equal(Array(30).fill('true_positive'));
    const ended = await a
      .collection('audit_log')
      .find({ action: 'key.leaked', api_key: { $in: more.map((k) => k.apiKey) } })
      .toArray();
    expect(ended.map((e) => e.api_key).sort()).to.deep.equal(more.map((k) => k.apiKey).sort());
    expect(
      await eventually(
        () => a.collection('api_keys').countDocuments({ api_key: { $in: more.map((k) => k.apiKey) } }),
        (n) => n === 0,
      ),
      'deleted after the answer',
    ).to.equal(0);
  });

  it('a token whose checksum fails is a false positive without any database command', async () => {
    const good = newApiSecret();
    const bad = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;
    const badPair = `${newApiKey()}:${bad}`;
    const from = seen.length;
    const sent = await report(b.url, [entry(bad), entry(badPair), entry('ghp_notours'), entry(good.slice(0, 20))]);
    expect(sent.body.map((f: any) => f.label)).to.deep.equal(['false_positive', 'false_positive', 'false_positive', 'false_positive']);
    const touched = seen.slice(from).filter((e) => ['api_keys', 'leaked_secrets'].includes(String(e.command[e.commandName])));
    expect(touched.map((e) => e.commandName)).to.deep.equal([]);
  });
});

describe('secret scanning: keys from a URL', function () {
  this.timeout(30_000);
  let server: http.Server;
  let hits = 0;
  let served: object = { public_keys: [GITHUB.entry] };
  const port = { value: 0 };

  before(async () => {
    server = http.createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(served));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port.value = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  describe('an unreachable URL', () => {
    // Port 1 on loopback: nothing listens there; the start must not wait for it.
    const svc = useService({ secretScanning: scanning({ keysUrl: 'http://127.0.0.1:1/keys' }) });
    it('does not stop the start, and keys from the file still work', async () => {
      expect((await report(svc.url, [])).status).to.equal(200);
      expect((await report(svc.url, [], { key: signingKey(sha256('rotated')) })).status).to.equal(401);
    });
  });

  describe('a URL that answers', () => {
    const url = () => `http://127.0.0.1:${port.value}/meta/public_keys/secret_scanning`;
    let app: App;
    before(async () => {
      const config: Config = {
        ...loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' }),
        secretScanning: scanning({ keysFile: undefined, keysUrl: url() }),
      };
      config.dbName = `test_scanning_${Date.now()}`;
      app = await startApp(config, process.env.MONGODB_URI!, createLogger('silent'));
    });
    after(async () => {
      await app.services.storage.db.dropDatabase();
      await app.close();
    });

    it('verifies with its keys, asks it again for an unknown key (GitHub rotated) at most once a minute', async () => {
      const deadline = Date.now() + 5000;
      while ((await report(app.url, [])).status !== 200) {
        expect(Date.now(), 'the first fetch answered').to.be.below(deadline);
        await sleep(20);
      }
      const rotated = signingKey(sha256('rotated key'));
      served = { public_keys: [GITHUB.entry, rotated.entry] };
      const before = hits;
      // The first fetch was under a minute ago: an unknown key does not make it ask again yet.
      expect((await report(app.url, [], { key: rotated })).status).to.equal(401);
      expect((await report(app.url, [], { key: signingKey(sha256('made up')) })).status).to.equal(401);
      expect(hits).to.equal(before);
    });
  });
});
