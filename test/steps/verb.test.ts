import { expect } from 'chai';
import { verb } from '../../src/http/steps/verb.js';
import { stepServer, type StepServer } from './step-server.js';

describe('pipeline step: verb', () => {
  let s: StepServer;
  before(async () => (s = await stepServer([verb], undefined, ['GET', 'PUT', 'DELETE'])));
  after(() => s.close());

  it('lets the verbs of the route through', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) expect((await fetch(`${s.url}/x`, { method })).status, method).to.equal(200);
  });

  it('refuses any other with 405, Allow, and the verbs to use', async () => {
    const res = await fetch(`${s.url}/x`, { method: 'POST' });
    expect(res.status).to.equal(405);
    expect(res.headers.get('allow')).to.equal('GET, PUT, DELETE');
    const body = (await res.json()) as { error: { code: number; message: string } };
    expect(body.error).to.deep.equal({ code: -32600, message: 'Method POST not allowed here: use GET, PUT, DELETE' });
  });
});
