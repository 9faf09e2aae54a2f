import { expect } from 'chai';
// Under native ESM the bare directory import fails; name the file (see README).
import jayson from 'jayson/promise/index.js';
import { useService } from './harness.js';

describe('a stock jayson client (the README example)', () => {
  const svc = useService();

  const client = (token: string) => {
    const { hostname, port } = new URL(svc.url);
    return jayson.Client.http({ hostname, port: Number(port), path: '/rpc', headers: { Authorization: `token ${token}` } });
  };

  it('calls methods with named and positional params, and batches', async () => {
    const rpc = client(svc.adminToken);
    const me = await rpc.request('auth.verify', {});
    expect(me.result).to.include({ valid: true, user: 'Administrator' });
    const user = await rpc.request('user.create', ['client-made']);
    expect(user.result.name).to.equal('client-made');
    const batch = await rpc.request([
      rpc.request('frappe.auth.get_logged_user', [], undefined, false),
      rpc.request('user.get', { name: 'client-made' }, undefined, false),
    ]);
    expect(batch.map((r: { result: unknown }) => r.result)).to.deep.equal(['Administrator', user.result]);
  });

  it('sees JSON-RPC errors as error objects', async () => {
    const rpc = client(svc.adminToken);
    const reply = await rpc.request('user.get', { name: 'nobody' });
    expect(reply.error).to.deep.equal({ code: -32004, message: 'User nobody not found' });
  });
});
