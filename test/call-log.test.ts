/**
 * One call path: the dispatcher counts, times and logs every call, labelled
 * with the door it came in by, the command line included.
 */
import { expect } from 'chai';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { withDatabase } from '../src/config.js';
import { useService, rest } from './harness.js';

describe('call log and metrics, on every door', () => {
  const svc = useService();

  const lines = () => svc.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'call' || l.msg === 'call failed');

  it('logs a JSON-RPC call and a REST call the same way, each naming its door', async () => {
    await svc.post(
      { jsonrpc: '2.0', id: 1, method: 'user.create', params: { name: 'door-a@example.com' } },
      { authorization: `token ${svc.adminToken}`, 'x-request-id': 'door-jsonrpc' },
    );
    await rest(svc, 'POST', '/api/method/user.create', {
      type: 'application/json',
      body: JSON.stringify({ name: 'door-b@example.com' }),
      headers: { 'x-request-id': 'door-rest' },
    });
    const rpc = lines().find((l) => l.req_id === 'door-jsonrpc');
    const frappe = lines().find((l) => l.req_id === 'door-rest');
    expect(rpc).to.include({ door: 'jsonrpc', method: 'user.create', outcome: 'ok', user: 'Administrator' });
    expect(frappe).to.include({ door: 'rest', method: 'user.create', outcome: 'ok', user: 'Administrator' });
    expect(rpc!.ms).to.be.a('number');
  });

  it('counts calls by method, door and outcome', async () => {
    await svc.post({ jsonrpc: '2.0', id: 1, method: 'user.get', params: { name: 'nobody@example.com' } }, { authorization: `token ${svc.adminToken}` });
    const text = await (await fetch(`${svc.url}/metrics`, { headers: { authorization: `token ${svc.adminToken}` } })).text();
    expect(text).to.match(/tokenauth_calls_total\{method="user.create",door="jsonrpc",outcome="ok"\} 1\b/);
    expect(text).to.match(/tokenauth_calls_total\{method="user.create",door="rest",outcome="ok"\} 1\b/);
    expect(text).to.match(/tokenauth_calls_total\{method="user.get",door="jsonrpc",outcome="not_found"\} 1\b/);
  });

  it('logs the command line\'s calls too, as door "cli", without the secret it printed', async () => {
    const env = { ...process.env, MONGODB_URI: withDatabase(process.env.MONGODB_URI!, svc.app.services.storage.db.databaseName), LOG_LEVEL: 'info' };
    const run = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', path.resolve('src/cli.ts'), 'execute', 'frappe.core.doctype.user.user.generate_keys', '--args', '["door-a@example.com"]'],
        { env },
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- err is an Error: @types/node builds ExecFileException with Omit<>, which hides that from the rule
        (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })),
      ),
    );
    const secret = (JSON.parse(run.stdout) as { api_secret: string }).api_secret;
    const line = run.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'call');
    expect(line).to.include({ door: 'cli', method: 'frappe.core.doctype.user.user.generate_keys', outcome: 'ok', user: 'Administrator' });
    expect(run.stderr).to.not.include(secret);
  });
});
