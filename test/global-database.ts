/**
 * Mocha global fixture: when MONGODB_URI is unset, start a throwaway local
 * database (secantusdb, a single-node replica set) in a fresh temporary
 * folder on a free port, and remove it afterwards. Set MONGODB_URI to run the
 * same suite against any MongoDB server, such as MongoDB 7, standalone or a
 * replica set.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalDatabase, type LocalDatabase } from '../src/localdb/index.js';
import { holdsSecret } from '../src/auth/token.js';
import { ALL_LOGS, ISSUED_SECRETS, closeSharedServices } from './harness.js';

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

/**
 * After the whole run: no log line of any service the tests started may hold
 * a secret it issued (or its body: the prefix is a constant), any secret's
 * body under any prefix (a checksum that holds), or an Authorization value.
 */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    // The services useSharedService started (test/harness.ts) live until every test has run.
    await closeSharedServices();
    const leaks: string[] = [];
    for (const line of ALL_LOGS) {
      if (/authorization|\btas_[0-9A-Za-z]{30}\b/i.test(line) || holdsSecret(line)) leaks.push(line);
      else for (const secret of ISSUED_SECRETS) if (line.includes(secret.slice(4))) leaks.push(line);
    }
    // The whole suite must give the audit something to read, or it proves nothing;
    // a run of chosen files (SPEC=...) may hold only unit tests.
    if (!process.env.SPEC && (ALL_LOGS.length === 0 || ISSUED_SECRETS.size === 0)) throw new Error('the log audit saw no logs or no secrets');
    if (leaks.length > 0) throw new Error(`secrets or Authorization values in ${leaks.length} log lines:\n${leaks.slice(0, 5).join('\n')}`);
    console.log(`  log audit: ${ALL_LOGS.length} log lines, ${ISSUED_SECRETS.size} secrets issued, none leaked`);
  },
};
