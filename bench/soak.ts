/**
 * `npm run soak -- --minutes N [--url URL --token KEY:SECRET]`
 *
 * Without --url, starts a throwaway local database and the built service
 * (dist/main.js), as the benchmark does. Exits non-zero if anything was lost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { startLocalDatabase, freePort, type LocalDatabase } from '../src/localdb/index.js';
import { withDatabase } from '../src/config.js';
import type { ResultOf } from '../src/rpc/spec.js';
import { soak } from './soak-run.js';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '1' }, url: { type: 'string' }, token: { type: 'string' } },
});

async function main(): Promise<number> {
  let url = values.url;
  let token = values.token;
  let local: LocalDatabase | undefined;
  let child: ChildProcess | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-soak-'));
  try {
    if (!url) {
      const base = process.env.MONGODB_URI ?? (local = await startLocalDatabase({ dataDir: tmp, advertise: false, progress: console.error })).uri;
      const uri = withDatabase(base, `tokenauth_soak_${Date.now()}`);
      const keys = JSON.parse(
        execFileSync(process.execPath, ['dist/cli.js', 'execute', 'frappe.core.doctype.user.user.generate_keys', '--args', '["Administrator"]'], {
          env: { ...process.env, MONGODB_URI: uri },
        }).toString(),
      ) as ResultOf<'frappe.core.doctype.user.user.generate_keys'>;
      token = `${keys.api_key}:${keys.api_secret}`;
      const port = await freePort();
      const out = fs.openSync(path.join(tmp, 'service.log'), 'w');
      child = spawn(process.execPath, ['dist/main.js'], {
        env: { ...process.env, MONGODB_URI: uri, PORT: String(port), LOG_LEVEL: 'info' },
        stdio: ['ignore', out, out],
      });
      url = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100; i++) {
        if (
          await fetch(`${url}/healthz`).then(
            (r) => r.ok,
            () => false,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (!token) throw new Error('--token KEY:SECRET (a System Manager) is needed with --url');
    const report = await soak({ url, adminToken: token, durationMs: Number(values.minutes) * 60_000, log: console.error });
    console.log(JSON.stringify(report, null, 2));
    const ok = report.violations.length === 0 && report.server5xx === 0;
    console.log(
      `soak ${ok ? 'passed' : 'FAILED'}: ${report.requests} requests in ${values.minutes} min, ${report.server5xx} 5xx, ` +
        `${report.finalCheck.live} live keys verified, ${report.finalCheck.revoked} revoked keys refused, ${report.violations.length} violations`,
    );
    return ok ? 0 : 1;
  } finally {
    child?.kill('SIGTERM');
    await local?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => (console.error(err), process.exit(1)),
);
