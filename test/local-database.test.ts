/**
 * The local database `npm start` brings when MONGODB_URI is unset: private
 * to its owner on disk, a replica set, and gone when the service is gone,
 * however it ends. Runs its own server whatever MONGODB_URI says.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { findLocalDatabase, STATE_FILE, STORAGE_DIR } from '../src/localdb/index.js';
import { unavailableReason } from '../src/localdb/secantusdb.js';
import { ALL_LOGS, replicaSetName, skipBecause, sleep } from './harness.js';

const mode = (p: string) => fs.statSync(p).mode & 0o777;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('the local database (MONGODB_URI unset)', function () {
  this.timeout(180_000); // the first run on a machine installs secantusdb
  let dir: string;

  before(async function () {
    const missing = await unavailableReason();
    if (missing) skipBecause(this, `no local database can run here: ${missing}`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-localdb-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('npm start keeps its data to its owner, is a replica set, and its server dies with it, even on SIGKILL', async () => {
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir, { mode: 0o755 }); // as a folder made by hand would be
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/main.ts')], {
      env: { ...process.env, MONGODB_URI: '', DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('"msg":"listening"')) resolve();
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => reject(new Error(`npm start's main exited ${code}:\n${out}`)));
      });

      // Issue 10: nobody but the owner reads the data or learns where the server listens.
      const state = path.join(dataDir, STATE_FILE);
      expect(mode(dataDir).toString(8)).to.equal('700');
      expect(mode(path.join(dataDir, STORAGE_DIR)).toString(8)).to.equal('700');
      expect(mode(state).toString(8)).to.equal('600');
      const shared = fs
        .readdirSync(path.join(dataDir, STORAGE_DIR), { recursive: true, encoding: 'utf8' })
        .map((f) => path.join(dataDir, STORAGE_DIR, f))
        .filter((f) => mode(f) & 0o077);
      expect(shared, 'files of the server readable by others').to.deep.equal([]);

      const found = await findLocalDatabase(dataDir);
      expect(found, 'the advertised server answers').to.not.equal(undefined);
      const client = await MongoClient.connect(found!.uri, { serverSelectionTimeoutMS: 5000 });
      try {
        expect(await replicaSetName(client.db('admin')), 'change streams and transactions need a replica set').to.be.a('string');
      } finally {
        await client.close();
      }

      const port = Number(new URL(found!.uri).port);
      child.kill('SIGKILL'); // no handler runs: only the watchdog can stop the server now
      let open = true;
      for (let i = 0; i < 100 && open; i++) {
        await sleep(200);
        open = await accepts(port);
      }
      expect(open, 'the server still listens after its parent was killed').to.equal(false);
      expect(await findLocalDatabase(dataDir), 'a stale state file is not trusted').to.equal(undefined);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      ALL_LOGS.push(...out.split('\n').filter(Boolean)); // into the whole-run secrets audit
    }
  });
});
