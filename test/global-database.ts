/**
 * Mocha global fixture: when MONGODB_URI is unset, start a throwaway local
 * database (FerretDB, or mongod if on PATH) in a fresh temporary folder on a
 * free port, and remove it afterwards. Set MONGODB_URI to run the same suite
 * against any MongoDB server, such as MongoDB 7.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalDatabase, type LocalDatabase } from '../src/localdb/index.js';

let db: LocalDatabase | undefined;
let dir: string | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.MONGODB_URI) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-test-'));
  db = await startLocalDatabase({ dataDir: dir, advertise: false, progress: (line) => console.error(line) });
  process.env.MONGODB_URI = db.uri;
}

export async function mochaGlobalTeardown(): Promise<void> {
  await db?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
