import { expect } from 'chai';
import { withDatabase } from '../src/config.js';
import http from 'node:http';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { startService, tokenOf, sleep, ALL_LOGS, ISSUED_SECRETS, type TestService } from './harness.js';

const uriFor = (dbName: string) => withDatabase(process.env.MONGODB_URI!, dbName);

/** One call on a fresh connection, so the cluster's round-robin spreads them over the workers. */
function callFresh(url: string, token: string): Promise<{ status: number; body: any }> {
  const u = new URL('/rpc', url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { authorization: `token ${token}` } },
      (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(data) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }));
  });
}

describe('WORKERS=2 (node:cluster)', function () {
  this.timeout(60_000);
  let svc: TestService;
  let child: ChildProcess;
  let url: string;
  let out = '';
  let exit: Promise<number | null>;

  before(async () => {
    svc = await startService();
    child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/main.ts')], {
      env: { ...process.env, MONGODB_URI: uriFor(svc.app.services.storage.db.databaseName), PORT: '0', WORKERS: '2', LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exit = new Promise((resolve) => child.once('exit', resolve));
    url = await new Promise<string>((resolve, reject) => {
      let listening = 0;
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const urls = [...out.matchAll(/"url":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/g)].map((m) => m[1]!);
        if (urls.length > listening && (listening = urls.length) === 2) resolve(urls[0]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
  });

  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    ALL_LOGS.push(...out.split('\n').filter(Boolean)); // into the whole-run secrets audit
    await svc.close();
  });

  const servedBy = () =>
    new Set(
      out
        .split('\n')
        .filter((l) => l.includes('"method":"frappe.auth.get_logged_user"'))
        .map((l) => JSON.parse(l).pid),
    );

  it('drops a rotated secret and a disabled user on every worker before answering', async () => {
    const token = await svc.userWithToken('clustered');
    for (let i = 0; i < 10; i++) expect((await callFresh(url, token)).body.result).to.equal('clustered');
    await sleep(200); // let the log lines arrive
    expect(servedBy().size, 'both workers served (and cached) the token').to.equal(2);

    // Rotate through the cluster: whichever worker does it, the old secret fails on both at once.
    const rotated = await callFreshRpc(url, svc.adminToken, 'frappe.core.doctype.user.user.generate_keys', { user: 'clustered' });
    const fresh = tokenOf(rotated);
    ISSUED_SECRETS.add(rotated.api_secret);
    const old = await Promise.all(Array.from({ length: 10 }, () => callFresh(url, token)));
    expect(old.map((r) => r.status)).to.deep.equal(Array(10).fill(401));
    for (let i = 0; i < 10; i++) expect((await callFresh(url, fresh)).status).to.equal(200);

    await callFreshRpc(url, svc.adminToken, 'user.update', { name: 'clustered', enabled: false });
    const disabled = await Promise.all(Array.from({ length: 10 }, () => callFresh(url, fresh)));
    expect(disabled.map((r) => r.status)).to.deep.equal(Array(10).fill(401));
  });

  it('stops every worker and exits 0 on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exit).to.equal(0);
  });
});

async function callFreshRpc(url: string, token: string, method: string, params: unknown): Promise<any> {
  const res = await fetch(new URL('/rpc', url), {
    method: 'POST',
    headers: { authorization: `token ${token}`, connection: 'close' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: unknown };
  if (!body.result) throw new Error(JSON.stringify(body));
  return body.result;
}
