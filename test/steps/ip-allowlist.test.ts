import { expect } from 'chai';
import { credentials } from '../../src/http/steps/credentials.js';
import { ipAllowlist } from '../../src/http/steps/ip-allowlist.js';
import { context } from '../../src/http/steps/context.js';
import { startService, tokenOf, type TestService } from '../harness.js';
import { stepServer, testDoor, type StepServer } from './step-server.js';

describe('pipeline step: ip-allowlist (real token check, real database; the step server listens on 127.0.0.1)', () => {
  let svc: TestService;
  let s: StepServer;
  before(async () => {
    svc = await startService();
    s = await stepServer([credentials(svc.app.services.auth), ipAllowlist, context(svc.app.services)], testDoor('metrics'));
  });
  after(async () => (await s.close(), await svc.close()));

  const post = (token: string) => fetch(`${s.url}/x`, { method: 'POST', headers: { authorization: `token ${token}` } });
  let n = 0;
  const keyWith = async (ip_allowlist: string[]) => {
    const user = `step-ip-${++n}`;
    await svc.asAdmin('user.create', { name: user });
    return tokenOf(await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user, ip_allowlist }));
  };

  it('lets a key without a list, or with the client inside it, through to the door', async () => {
    expect((await post(svc.adminToken)).status).to.equal(200);
    expect((await post(await keyWith(['127.0.0.0/8', '2001:db8::/32']))).status).to.equal(200);
    expect(s.served.at(-1)!.ctx.address).to.equal('127.0.0.1');
  });

  it("refuses a key used from outside its list with 403, -32003 in the door's shape, naming the address, before the door", async () => {
    const served = s.served.length;
    const res = await post(await keyWith(['10.0.0.0/8']));
    expect(res.status).to.equal(403);
    const body = (await res.json()) as { error: { code: number; message: string }; door: string };
    expect(body).to.deep.equal({
      door: 'metrics',
      error: { code: -32003, message: 'This key may not be used from 127.0.0.1: the address is outside its ip_allowlist' },
    });
    expect(s.served.length, 'the door never saw it').to.equal(served);
    expect(s.logs.join('')).to.include('"outcome":"ip_not_allowed"');
  });
});
