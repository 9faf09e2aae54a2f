/**
 * A newcomer's first minute: one command gives a usable token.
 *
 *   TOKEN=$(npx tokenauth execute frappe.core.doctype.user.user.generate_keys --args '["Administrator"]' --print-token)
 *
 * --print-token prints only api_key:api_secret (one line), so the shell's
 * $(...) gives the token itself; it goes with generate_keys only, and is
 * refused before anything runs otherwise.
 */
import { expect } from 'chai';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { withDatabase } from '../src/config.js';
import { useService, bearer, expectResult, sleep, ISSUED_SECRETS } from './harness.js';

const CLI = path.resolve('src/cli.ts');
const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
const TOKEN = /^tak_[0-9A-Za-z]{20}:tas_[0-9A-Za-z]+$/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string | undefined>): Promise<Run> {
  // A variable `env` sets to undefined is unset.
  const childEnv = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined));
  return new Promise((resolve) =>
    execFile(file, args, { env: childEnv }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );
}

const tokenauth = (args: string[], env: Record<string, string | undefined>) => run(process.execPath, ['--import', 'tsx', CLI, ...args], env);

describe('tokenauth --print-token', function () {
  this.timeout(60_000);
  const svc = useService();
  let env: Record<string, string | undefined>;
  // Its own System Manager: the first test rotates Administrator's secret, the harness's adminToken.
  let manager: string;
  before(async () => {
    manager = await svc.userWithToken('manager@example.com', ['System Manager']);
    loaded = Date.now(); // startService's generate_keys had the service load Administrator's key
    env = { MONGODB_URI: withDatabase(process.env.MONGODB_URI!, svc.app.services.storage.db.databaseName), TOKENAUTH_TOKEN: undefined };
  });

  /**
   * A secret rotated by another process (the CLI) is seen by the running
   * service once what it cached of the key is a second old: a refused secret
   * re-reads its api_key at most once a second (RECHECK_AFTER_MS in
   * src/auth/verify.ts). A CLI run can end sooner than that on a warm
   * machine, so each check waits out the second since the last load.
   */
  let loaded = 0;
  const whoami = async (token: string) => {
    await sleep(Math.max(0, loaded + 1100 - Date.now()));
    const reply = await svc.post({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }, bearer(token));
    loaded = Date.now();
    return expectResult(reply).user;
  };

  it('execute: TOKEN=$(tokenauth execute generate_keys --args \'["Administrator"]\' --print-token) is a working token', async () => {
    // The README's line, through a real shell's command substitution.
    const script = `TOKEN=$("$0" --import tsx "$1" execute ${GENERATE} --args '["Administrator"]' --print-token) && printf '%s' "$TOKEN"`;
    const shell = await run('bash', ['-c', script, process.execPath, CLI], env);
    expect(shell.code, shell.stderr).to.equal(0);
    const token = shell.stdout;
    expect(token).to.match(TOKEN);
    ISSUED_SECRETS.add(token.split(':')[1]!);
    expect(await whoami(token)).to.equal('Administrator');
    // Run directly: exactly one line, nothing else on stdout.
    const direct = await tokenauth(['execute', GENERATE, '--args', '["Administrator"]', '--print-token'], env);
    expect(direct.code, direct.stderr).to.equal(0);
    expect(direct.stdout).to.match(/^tak_[0-9A-Za-z]{20}:tas_[0-9A-Za-z]+\n$/);
    ISSUED_SECRETS.add(direct.stdout.trim().split(':')[1]!);
    expect(direct.stdout.trim().split(':')[0], 'the key stays; a new secret').to.equal(token.split(':')[0]);
    expect(await whoami(direct.stdout.trim())).to.equal('Administrator');
  });

  it('call: prints the token of a key issued over the wire', async () => {
    await svc.asAdmin('user.create', { name: 'svc@example.com', roles: ['Token Verifier'] });
    const made = await tokenauth(['call', GENERATE, '--url', svc.url, '--kwargs', '{"user": "svc@example.com"}', '--print-token'], {
      ...env,
      TOKENAUTH_TOKEN: manager,
    });
    expect(made.code, made.stderr).to.equal(0);
    const token = made.stdout.trim();
    expect(token).to.match(TOKEN);
    ISSUED_SECRETS.add(token.split(':')[1]!);
    expect(await whoami(token)).to.equal('svc@example.com');
  });

  it('is refused with exit 2, before anything runs, with any other method', async () => {
    const refused = await tokenauth(['execute', 'user.create', '--kwargs', '{"name": "never@example.com"}', '--print-token'], env);
    expect(refused.code).to.equal(2);
    expect(refused.stdout).to.equal('');
    expect(refused.stderr).to.include(`--print-token goes with ${GENERATE}`);
    expect((await svc.call('user.get', { name: 'never@example.com' }, manager)).body.error.code).to.equal(-32004);
  });

  it('prints errors as execute does (stderr, exit 1), and no token', async () => {
    const failed = await tokenauth(['execute', GENERATE, '--args', '["nobody"]', '--print-token'], env);
    expect(failed.code).to.equal(1);
    expect(failed.stdout).to.equal('');
    expect(failed.stderr).to.include('Error -32004');
  });
});
