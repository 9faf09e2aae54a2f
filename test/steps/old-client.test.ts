import { expect } from 'chai';
import { oldClient, oldClientForm } from '../../src/http/steps/old-client.js';
import { body } from '../../src/http/steps/body.js';
import { stepServer, testDoor, type StepServer } from './step-server.js';

describe('pipeline step: old client', () => {
  const jsonrpc = testDoor('jsonrpc');
  const rest = testDoor('rest');
  let s: StepServer;
  before(async () => (s = await stepServer([body({ perRequest: 10_000, perClient: 1e9, inFlight: 1e9 }), oldClient(jsonrpc, rest)], jsonrpc)));
  after(() => s.close());

  const post = async (path: string, type: string, text: string) =>
    (await (await fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body: text })).json()) as Record<string, any>;

  it('sends a form with cmd posted to / to the REST door, as its root route', async () => {
    const reply = await post('/', 'application/x-www-form-urlencoded', 'cmd=frappe.client.delete&doctype=User&name=x');
    expect(reply).to.deep.include({ door: 'rest', route: { kind: 'method', name: '', cmd: true }, allow: ['GET', 'POST'] });
  });

  it('keeps JSON (even sent as a form), a form without cmd, and /rpc on the JSON-RPC door', async () => {
    expect(await post('/', 'application/x-www-form-urlencoded', '{"jsonrpc":"2.0","method":"x","id":1,"cmd":1}')).to.include({ door: 'jsonrpc' });
    expect(await post('/', 'application/x-www-form-urlencoded', 'a=1')).to.include({ door: 'jsonrpc' });
    expect(await post('/rpc', 'application/x-www-form-urlencoded', 'cmd=x')).to.include({ door: 'jsonrpc' });
    expect(oldClientForm(undefined, 'cmd=x')).to.equal(false);
    expect(oldClientForm('Application/X-WWW-Form-Urlencoded; charset=utf-8', 'cmd=x')).to.equal(true);
  });
});
