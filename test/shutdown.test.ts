import { expect } from 'chai';
import { withDatabase } from '../src/config.js';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { useService, sleep, ALL_LOGS } from './harness.js';

const uriFor = (dbName: string) => withDatabase(process.env.MONGODB_URI!, dbName);

/** Starts src/main.ts as its own process and resolves with its URL once it listens. */
function startMain(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/main.ts')], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      ALL_LOGS.push(...out.split('\n').filter(Boolean)); // into the whole-run secrets audit
      resolve(code);
    }),
  );
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)".*"msg":"listening"/.exec(out);
      if (m) resolve({ child, url: m[1]!, exit });
    });
    child.once('exit', (code) => reject(new Error(`main exited early (${code}): ${out}`)));
  });
}

describe('shutdown on SIGTERM', function () {
  this.timeout(30_000);
  const svc = useService();

  it('stops accepting, finishes the request in flight, closes the database and exits 0', async () => {
    const { child, url, exit } = await startMain({ MONGODB_URI: uriFor(svc.app.services.storage.db.databaseName) });
    const { port } = new URL(url);
    const body = JSON.stringify({ jsonrpc: '2.0', id: 42, method: 'frappe.auth.get_logged_user' });

    // A request in flight: headers and half the body sent.
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let reply = '';
    socket.on('data', (d) => (reply += d.toString()));
    const closed = new Promise((r) => socket.once('close', r));
    socket.write(
      `POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: token ${svc.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    socket.write(body.slice(0, 10));
    await sleep(200);

    child.kill('SIGTERM');
    await sleep(300);

    // New connections are refused while the old one is served.
    const refused = await new Promise<boolean>((resolve) => {
      const probe = net.connect(Number(port), '127.0.0.1');
      probe.once('connect', () => (probe.destroy(), resolve(false)));
      probe.once('error', () => resolve(true));
    });
    expect(refused, 'a new connection after SIGTERM').to.equal(true);

    socket.write(body.slice(10));
    await closed;
    expect(reply).to.match(/^HTTP\/1.1 200 OK/);
    expect(reply).to.include('"result":"Administrator"');
    expect(await exit).to.equal(0);
  });
});
