import { expect } from 'chai';
import { cors } from '../../src/http/steps/cors.js';
import { stepServer, type StepServer } from './step-server.js';

describe('pipeline step: CORS', () => {
  const ALLOWED = 'https://app.example.com';
  let on: StepServer;
  let off: StepServer;
  before(async () => {
    on = await stepServer([cors([ALLOWED])]);
    off = await stepServer([cors([])]);
  });
  after(async () => (await on.close(), await off.close()));

  it('marks an allowed origin, so its answer carries the CORS headers', async () => {
    const res = await fetch(`${on.url}/rpc`, { method: 'POST', headers: { origin: ALLOWED } });
    expect(res.headers.get('access-control-allow-origin')).to.equal(ALLOWED);
    expect(res.headers.get('access-control-allow-credentials')).to.equal('true');
    expect(((await res.json()) as { origin: string }).origin).to.equal(ALLOWED);
  });

  it('marks no other origin, and none when CORS is off', async () => {
    const other = await fetch(`${on.url}/rpc`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).to.equal(null);
    const disabled = await fetch(`${off.url}/rpc`, { method: 'POST', headers: { origin: ALLOWED } });
    expect(disabled.headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('answers a preflight from an allowed origin with 204 and what may be sent, any other OPTIONS with Allow', async () => {
    const preflight = await fetch(`${on.url}/rpc`, { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'POST' } });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get('access-control-allow-methods')).to.equal('GET, POST, PUT, DELETE');
    expect(preflight.headers.get('access-control-max-age')).to.equal('86400');
    const plain = await fetch(`${off.url}/rpc`, { method: 'OPTIONS' });
    expect(plain.status).to.equal(204);
    expect(plain.headers.get('allow')).to.equal('POST, OPTIONS');
    expect(plain.headers.get('access-control-allow-origin')).to.equal(null);
    expect(on.served.concat(off.served).filter((x) => x.req.method === 'OPTIONS')).to.have.length(0);
  });
});
