import { expect } from 'chai';
import { withDatabase } from '../src/config.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { useService, bearer, tokenOf, expectResult, skipBecause } from './harness.js';
import { startLocalDatabase } from '../src/localdb/index.js';
import { unavailableReason } from '../src/localdb/secantusdb.js';
import { methodTable } from '../src/methods/index.js';
import net from 'node:net';

const CLI = path.resolve('src/cli.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tokenauth(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    // A variable `env` sets to undefined is unset.
    const childEnv = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined));
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { env: childEnv }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const uriFor = (dbName: string) => withDatabase(process.env.MONGODB_URI!, dbName);

describe('tokenauth CLI', function () {
  this.timeout(60_000);
  const svc = useService();
  let env: Record<string, string>;
  before(() => {
    env = { MONGODB_URI: uriFor(svc.app.services.storage.db.databaseName) };
  });

  it('explains itself with --help', async () => {
    const run = await tokenauth(['--help'], env);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.include('tokenauth execute <method>').and.include('tokenauth call <method>').and.include('TOKENAUTH_TOKEN');
  });

  it('reaches every method of the table with execute, rpc.discover included', async () => {
    const run = await tokenauth(['execute', 'rpc.discover'], env);
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout).methods.map((m: { name: string }) => m.name)).to.deep.equal(methodTable.map((m) => m.name));
  });

  it('generates keys as Administrator, and the printed pair authenticates over HTTP', async () => {
    const run = await tokenauth(['execute', 'frappe.core.doctype.user.user.generate_keys', '--args', '["Administrator"]'], env);
    expect(run.code, run.stderr).to.equal(0);
    const keys = JSON.parse(run.stdout);
    const reply = await svc.post({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }, bearer(tokenOf(keys)));
    expect(expectResult(reply).user).to.equal('Administrator');
  });

  it('takes --kwargs, and --args with --kwargs together', async () => {
    const created = await tokenauth(['execute', 'user.create', '--kwargs', '{"name":"cli-user","roles":["Token Verifier"]}'], env);
    expect(created.code, created.stderr).to.equal(0);
    expect(JSON.parse(created.stdout)).to.include({ name: 'cli-user' });
    const updated = await tokenauth(['execute', 'user.update', '--args', '["cli-user"]', '--kwargs', '{"full_name":"CLI"}'], env);
    expect(JSON.parse(updated.stdout)).to.include({ name: 'cli-user', full_name: 'CLI' });
  });

  it('prints a failing method on stderr and exits non-zero', async () => {
    const run = await tokenauth(['execute', 'user.get', '--args', '["nobody"]'], env);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.include('Error -32004: User nobody not found');
    const invalid = await tokenauth(['execute', 'user.get', '--kwargs', '{"name": 5}'], env);
    expect(invalid.code).to.equal(1);
    expect(invalid.stderr).to.include('Error -32602: Invalid params').and.include('/name');
    const unknown = await tokenauth(['execute', 'no.such.method'], env);
    expect(unknown.stderr).to.include('Error -32601');
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await tokenauth(['execute', 'user.get', '--args', '{"not":"array"}'], env)).code).to.equal(2);
    expect((await tokenauth(['execute', 'user.get', '--args', '[oops'], env)).code).to.equal(2);
    expect((await tokenauth(['frobnicate'], env)).code).to.equal(2);
    // Options of call are refused, not ignored: the user meant a remote service.
    expect((await tokenauth(['execute', 'user.list', '--url', svc.url], env)).code).to.equal(2);
  });

  describe('call', () => {
    const noToken = { TOKENAUTH_TOKEN: undefined };
    // Its own System Manager: the tests above rotate Administrator's secret.
    let token: string;
    let secret: string;
    before(async () => {
      token = await svc.userWithToken('cli-caller', ['System Manager']);
      secret = token.split(':')[1]!;
    });

    /** The token's secret must never reach the terminal, whatever happened. */
    function expectNoSecret(run: Run): void {
      expect(run.stdout + run.stderr).to.not.include(secret);
    }

    it('calls a running service with --token and prints the result', async () => {
      const run = await tokenauth(['call', 'user.get', '--url', svc.url, '--token', token, '--args', '["Administrator"]'], noToken);
      expect(run.code, run.stderr).to.equal(0);
      expect(JSON.parse(run.stdout)).to.include({ name: 'Administrator', enabled: true });
      expectNoSecret(run);
    });

    it('takes the token from TOKENAUTH_TOKEN, --kwargs, and a URL that already ends in /rpc', async () => {
      const run = await tokenauth(['call', 'auth.verify', '--url', `${svc.url}/rpc`, '--kwargs', '{}'], { TOKENAUTH_TOKEN: token });
      expect(run.code, run.stderr).to.equal(0);
      expect(JSON.parse(run.stdout)).to.include({ valid: true, user: 'cli-caller' });
      const discovered = await tokenauth(['call', 'rpc.discover', '--url', `${svc.url}/`], { TOKENAUTH_TOKEN: token });
      expect(discovered.code, discovered.stderr).to.equal(0);
      expect(JSON.parse(discovered.stdout).methods).to.have.length(methodTable.length);
    });

    it('prints a bad token as Error -32001 and exits 1', async () => {
      const wrong = `${token.split(':')[0]}:tas_${'x'.repeat(30)}`;
      const run = await tokenauth(['call', 'auth.verify', '--url', svc.url], { TOKENAUTH_TOKEN: wrong });
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr.trim()).to.equal('Error -32001: Authentication failed');
      expect(run.stderr).to.not.include('x'.repeat(30));
    });

    it("prints the service's errors with their data and exits 1", async () => {
      const invalid = await tokenauth(['call', 'user.get', '--url', svc.url, '--kwargs', '{"name": 5}'], { TOKENAUTH_TOKEN: token });
      expect(invalid.code).to.equal(1);
      expect(invalid.stderr).to.include('Error -32602: Invalid params').and.include('"/name"');
      const plain = await svc.userWithToken('cli-call-plain');
      const refused = await tokenauth(['call', 'user.list', '--url', svc.url], { TOKENAUTH_TOKEN: plain });
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.include('Error -32003:');
      const unknown = await tokenauth(['call', 'no.such.method', '--url', svc.url], { TOKENAUTH_TOKEN: token });
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.include('Error -32601');
      for (const run of [invalid, refused, unknown]) expectNoSecret(run);
    });

    it('refuses bad usage with exit 2, without echoing the token', async () => {
      const url = ['--url', svc.url];
      const withToken = { TOKENAUTH_TOKEN: token };
      const runs = [
        await tokenauth(['call', 'auth.verify'], withToken), // no --url
        await tokenauth(['call', 'auth.verify', ...url], noToken), // no token
        await tokenauth(['call', 'auth.verify', ...url], { TOKENAUTH_TOKEN: secret }), // not KEY:SECRET
        await tokenauth(['call', 'user.get', ...url, '--args', '["a"]', '--kwargs', '{}'], withToken),
        await tokenauth(['call', 'user.get', ...url, '--args', '[oops'], withToken),
        await tokenauth(['call', 'user.get', ...url, '--kwargs', '[]'], withToken),
        await tokenauth(['call', 'auth.verify', '--url', 'ftp://example.com'], withToken),
        await tokenauth(['call', 'auth.verify', '--url', 'not a url'], withToken),
        await tokenauth(['call', 'auth.verify', ...url, '--timeout', 'soon'], withToken),
        await tokenauth(['call', ...url], withToken), // no method
        await tokenauth(['call', 'auth.verify', secret, ...url], withToken), // a stray argument
      ];
      for (const [i, run] of runs.entries()) {
        expect(run.code, `case ${i}: ${run.stderr}`).to.equal(2);
        expect(run.stdout).to.equal('');
        expectNoSecret(run);
      }
      expect(runs[1]!.stderr).to.include('TOKENAUTH_TOKEN');
    });

    it('says clearly when the service cannot be reached, and exits 1', async () => {
      // A port that was free a moment ago: nothing listens there.
      const port = await new Promise<number>((resolve) => {
        const server = net.createServer().listen(0, '127.0.0.1', () => {
          const { port } = server.address() as net.AddressInfo;
          server.close(() => resolve(port));
        });
      });
      const run = await tokenauth(['call', 'auth.verify', '--url', `http://127.0.0.1:${port}`], { TOKENAUTH_TOKEN: token });
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.include(`cannot reach http://127.0.0.1:${port}/rpc`).and.include('ECONNREFUSED');
      expectNoSecret(run);
    });

    it('gives up after --timeout when nothing answers', async () => {
      const held: net.Socket[] = [];
      const silent = net.createServer((socket) => void held.push(socket)); // accepts, never replies
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = silent.address() as net.AddressInfo;
        const run = await tokenauth(['call', 'auth.verify', '--url', `http://127.0.0.1:${port}`, '--timeout', '0.5'], { TOKENAUTH_TOKEN: token });
        expect(run.code).to.equal(1);
        expect(run.stderr).to.include(`cannot reach http://127.0.0.1:${port}/rpc: no reply in time`);
      } finally {
        held.forEach((socket) => socket.destroy());
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('says so when the URL answers, but not in JSON-RPC', async () => {
      const run = await tokenauth(['call', 'auth.verify', '--url', `${svc.url}/metrics`], { TOKENAUTH_TOKEN: token });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/answered HTTP \d+ without a JSON-RPC reply/);
      expectNoSecret(run);
    });
  });

  describe('with MONGODB_URI unset', () => {
    let dataDir: string;
    before(async function () {
      // These start a local database of their own (secantusdb, which needs Python 3.11).
      const missing = await unavailableReason();
      if (missing) skipBecause(this, `no local database can run here: ${missing}`);
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-cli-'));
    });
    after(() => dataDir && fs.rmSync(dataDir, { recursive: true, force: true }));
    const local = { MONGODB_URI: undefined, DATA_DIR: '' };

    it('starts the local database itself when the service is not running, and keeps the data', async () => {
      const e = { ...local, DATA_DIR: dataDir };
      expect((await tokenauth(['execute', 'user.create', '--args', '["persisted"]'], e)).code).to.equal(0);
      const again = await tokenauth(['execute', 'user.get', '--args', '["persisted"]'], e);
      expect(again.code, again.stderr).to.equal(0);
      expect(JSON.parse(again.stdout).name).to.equal('persisted');
    });

    it("uses the running service's local database when there is one", async () => {
      const db = await startLocalDatabase({ dataDir, advertise: true, progress: () => {} });
      try {
        const run = await tokenauth(['execute', 'user.create', '--args', '["while-running"]'], { ...local, DATA_DIR: dataDir });
        expect(run.code, run.stderr).to.equal(0);
        const client = await MongoClient.connect(db.uri);
        expect(await client.db('tokenauth').collection('users').countDocuments({ name: 'while-running' })).to.equal(1);
        await client.close();
      } finally {
        await db.stop();
      }
    });
  });
});
