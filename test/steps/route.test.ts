import { expect } from 'chai';
import { restRoute, route } from '../../src/http/steps/route.js';
import { stepServer, testDoor, type StepServer } from './step-server.js';

describe('pipeline step: route', () => {
  const doors = { jsonrpc: testDoor('jsonrpc'), rest: testDoor('rest'), metrics: testDoor('metrics', false) };
  let s: StepServer;
  before(async () => (s = await stepServer([route(doors)], null)));
  after(() => s.close());

  const get = async (path: string) => {
    const res = await fetch(`${s.url}${path}`, { method: 'POST' });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('sends /rpc and / to the JSON-RPC door, POST only', async () => {
    for (const path of ['/rpc', '/', '/rpc?trace=1'])
      expect(await get(path), path).to.deep.include({
        status: 200,
        body: { door: 'jsonrpc', allow: ['POST'], route: null, body: '', weight: 1, origin: null },
      });
  });

  it('sends an old client (/?cmd=...) to the REST door as its root route', async () => {
    const { body } = await get('/?cmd=auth.verify');
    expect(body).to.include({ door: 'rest' });
    expect(body.route).to.deep.equal({ kind: 'method', name: '', cmd: true });
    expect(body.allow).to.deep.equal(['GET', 'POST']);
  });

  it('reads /api/ paths the way Frappe does: v1, a trailing slash, resources and documents', async () => {
    expect((await get('/api/method/auth.verify/')).body.route).to.deep.equal({ kind: 'method', name: 'auth.verify' });
    expect((await get('/api/v1/method/auth.verify')).body.route).to.deep.equal({ kind: 'method', name: 'auth.verify' });
    expect((await get('/api/resource/User')).body).to.deep.include({ route: { kind: 'collection', doctype: 'User' }, allow: ['GET', 'POST'] });
    const doc = (await get('/api/resource/User/kim%40example.com')).body;
    expect(doc).to.deep.include({ route: { kind: 'document', doctype: 'User', name: 'kim@example.com' }, allow: ['GET', 'PUT', 'DELETE'] });
    // A name that is not a method name is never echoed: it becomes ''.
    expect((await get('/api/method/%3Cscript%3E')).body.route).to.deep.equal({ kind: 'method', name: '' });
  });

  it("answers ambiguous /api/ paths with the REST door's 404, other paths with a plain 404", async () => {
    // fetch resolves dot segments itself, as a proxy or browser may: read as sent, they name nothing.
    for (const path of ['/api/method/x/../../resource/User', '/api/method/./x', '/api/resource/User/a\\b']) expect(restRoute(path), path).to.equal(undefined);
    for (const path of ['/api//method/x', '/api/method/a%2fb', '/api/method/%2e%2e/x', '/api/nothing']) {
      const { status, body } = await get(path);
      expect(status, path).to.equal(404);
      expect(body, path).to.include({ door: 'rest' });
      expect(body.error.message, path).to.match(/^Not found: this service serves/);
    }
    expect(await get('/nope')).to.deep.equal({ status: 404, body: { error: 'Not found' } });
  });

  it('refuses a URL holding a secret before answering that it names nothing (as url-secret.ts refuses it on a route)', async () => {
    const secret = 'tas_' + 'a1B2'.repeat(7) + 'xy';
    const rest = await get(`/api/${secret}`);
    expect(rest.status).to.equal(400);
    expect(rest.body).to.include({ door: 'rest' });
    expect(rest.body.error.message).to.match(/^Do not send a secret in the URL/);
    expect(await get(`/nope/t%61s_${secret.slice(4)}`)).to.deep.equal({
      status: 400,
      body: { error: 'Do not send a secret in the URL, where access logs and browser history keep it: send it in a POST body (form or JSON)' },
    });
    expect((await get(`/nope?x=${secret}`)).status).to.equal(400);
  });

  it('sends /metrics to its door, GET only', async () => {
    expect((await get('/metrics')).body).to.deep.include({ door: 'metrics', allow: ['GET'] });
  });
});
