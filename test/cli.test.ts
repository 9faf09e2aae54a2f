import { expect } from 'chai';
import { withDatabase } from '../src/config.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { startService, bearer, expectResult, type TestService } from './harness.js';
import { startLocalDatabase } from '../src/localdb/index.js';
import { which } from '../src/localdb/which.js';
import { cacheDir } from '../src/localdb/ferretdb.js';

const CLI = path.resolve('src/cli.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tokenauth(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    const childEnv = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { env: childEnv }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const uriFor = (dbName: string) => withDatabase(process.env.MONGODB_URI!, dbName);

describe('tokenauth CLI', function () {
  this.timeout(60_000);
  let svc: TestService;
  let env: Record<string, string>;
  before(async () => {
    svc = await startService();
    env = { MONGODB_URI: uriFor(svc.app.services.storage.db.databaseName) };
  });
  after(async () => svc.close());

  it('explains itself with --help', async () => {
    const run = await tokenauth(['--help'], env);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.include('tokenauth execute <method>');
  });

  it('generates keys as Administrator, and the printed pair authenticates over HTTP', async () => {
    const run = await tokenauth(['execute', 'frappe.core.doctype.user.user.generate_keys', '--args', '["Administrator"]'], env);
    expect(run.code, run.stderr).to.equal(0);
    const keys = JSON.parse(run.stdout);
    const reply = await svc.post({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }, bearer(`${keys.api_key}:${keys.api_secret}`));
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
  });

  describe('with MONGODB_URI unset', () => {
    let dataDir: string;
    before(function () {
      // These start a local database of their own: mongod, or FerretDB (built with Go).
      if (!which('mongod') && !which('go') && !fs.existsSync(path.join(cacheDir(), 'bin', 'ferretdb'))) this.skip();
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
