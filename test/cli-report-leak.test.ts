/**
 * `tokenauth report-leak <token> [--url u]`: the operator's leak report, as
 * a real process against the test service's database (as test/cli.test.ts
 * runs the CLI).
 */
import path from 'node:path';
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { withDatabase } from '../src/config.js';
import { newApiSecret } from '../src/auth/token.js';
import { ISSUED_SECRETS, useService, bearer } from './harness.js';

const CLI = path.resolve('src/cli.ts');

function tokenauth(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('tokenauth report-leak', function () {
  this.timeout(60_000);
  const svc = useService();
  const env = () => ({ MONGODB_URI: withDatabase(process.env.MONGODB_URI!, svc.db.databaseName) });
  const works = async (token: string) => (await svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token))).status === 200;

  it('revokes a live secret, audited with --url, and prints what happened; the service refuses it at once', async () => {
    const { name, token } = await svc.newUserWithToken();
    const [apiKey, secret] = token.split(':') as [string, string];
    ISSUED_SECRETS.add(secret);
    expect(await works(token)).to.equal(true);
    const run = await tokenauth(['report-leak', secret, '--url', 'https://wiki.example.com/page'], env());
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.deep.equal({ label: 'true_positive', ended: 'revoked', user: name, api_key: apiKey, policy: 'revoke' });
    expect(run.stdout + run.stderr).to.not.include(secret);
    // The command waited for what a report does after its answer (found in review: it closed the
    // database first, so the key was never deleted nor its digest remembered).
    expect(await svc.collection('api_keys').countDocuments({ api_key: apiKey }), 'deleted before the command exited').to.equal(0);
    expect(await svc.collection('leaked_secrets').countDocuments({ api_key: apiKey }), 'its digest remembered').to.equal(1);
    // Another process revoked it: the service hears through key_events.
    const deadline = Date.now() + 5000;
    while (await works(token)) expect(Date.now()).to.be.below(deadline);
    const [entry] = await svc.collection('audit_log').find({ action: 'key.leaked', target: name }).toArray();
    expect(entry).to.include({ actor: 'Administrator', source: 'cli', url: 'https://wiki.example.com/page', address: 'cli' });

    const again = await tokenauth(['report-leak', token], env());
    expect(JSON.parse(again.stdout)).to.deep.include({ label: 'true_positive', ended: null });
  });

  it('says false_positive for a token that is not one of ours, and refuses bad usage with exit 2', async () => {
    const unknown = await tokenauth(['report-leak', newApiSecret()], env());
    expect(unknown.code, unknown.stderr).to.equal(0);
    expect(JSON.parse(unknown.stdout)).to.deep.equal({ label: 'false_positive', ended: null, policy: 'revoke' });
    const none = await tokenauth(['report-leak'], env());
    expect(none.code).to.equal(2);
    expect(none.stderr).to.include('report-leak needs the token');
    const stray = await tokenauth(['report-leak', 'x', '--kwargs', '{}'], env());
    expect(stray.code).to.equal(2);
    expect(stray.stderr).to.include('report-leak takes only --url');
  });
});
