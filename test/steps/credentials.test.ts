import { expect } from 'chai';
import { credentials } from '../../src/http/steps/credentials.js';
import { context } from '../../src/http/steps/context.js';
import { startService, tokenOf, type TestService } from '../harness.js';
import { stepServer, testDoor, type StepServer } from './step-server.js';

describe('pipeline steps: credentials and context (real token check, real database)', () => {
  let svc: TestService;
  let s: StepServer;
  before(async () => {
    svc = await startService({ authFailureLimit: 3, authFailureWindowMs: 60_000 });
    s = await stepServer([credentials(svc.app.services.auth), context(svc.app.services)], testDoor('rest'));
  });
  after(async () => (await s.close(), await svc.close()));

  const post = (token?: string) => fetch(`${s.url}/x`, { method: 'POST', headers: token === undefined ? {} : { authorization: `token ${token}` } });

  it('lets a good token through, and builds the call context labelled with the door', async () => {
    expect((await post(svc.adminToken)).status).to.equal(200);
    const x = s.served.at(-1)!;
    expect(x.caller.user).to.equal('Administrator');
    expect(x.ctx).to.include({ door: 'rest', requestId: x.id, address: '127.0.0.1' });
    expect(x.ctx.caller).to.equal(x.caller);
  });

  it('refuses a missing, malformed or wrong token with 401, WWW-Authenticate and the same words', async () => {
    const keys = (await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: 'Administrator' })) as { api_key: string; api_secret: string };
    const replies = await Promise.all([post(), post('nonsense'), post(`${keys.api_key}:wrong`)]);
    for (const res of replies) {
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.equal('token');
      expect(((await res.json()) as { error: { message: string } }).error.message).to.equal('Authentication failed');
    }
    expect((await post(tokenOf(keys))).status).to.equal(200);
  });

  it('answers 429 with Retry-After once the client is over its limit, no sooner than the tarpit', async () => {
    let res = await post('nonsense');
    for (let i = 0; i < 10 && res.status !== 429; i++) res = await post('nonsense');
    expect(res.status).to.equal(429);
    expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
    const started = performance.now();
    expect((await post('nonsense')).status).to.equal(429);
    expect(performance.now() - started).to.be.greaterThan(900);
  });
});
