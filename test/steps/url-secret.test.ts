import { expect } from 'chai';
import { newApiSecret } from '../../src/auth/token.js';
import { refuseSecretInUrl, secretInPath, secretInQuery } from '../../src/http/steps/url-secret.js';
import { stepServer, type StepServer } from './step-server.js';

describe('pipeline step: a secret in the URL', () => {
  let s: StepServer;
  before(async () => (s = await stepServer([refuseSecretInUrl])));
  after(() => s.close());

  it('refuses a token in the query string, however it is spelt, with 400 and -32602', async () => {
    for (const q of ['token=k:s', 'x=1&token=', '%74oken=k:s']) {
      const res = await fetch(`${s.url}/rpc?${q}`, { method: 'POST' });
      expect(res.status, q).to.equal(400);
      const body = (await res.json()) as { error: { code: number; message: string } };
      expect(body.error.code, q).to.equal(-32602);
      expect(body.error.message, q).to.match(/^Do not send a token in the URL/);
    }
    expect(s.served).to.have.length(0);
  });

  it('refuses any spelling of a credential, and anything shaped like a secret under any name (found by an outside attacker)', async () => {
    const secret = 'tas_' + 'a1B2'.repeat(7) + 'xy';
    for (const q of [
      'Token=k:s',
      'TOKEN=1',
      'token[]=1',
      'token%00=1',
      'api_secret=x',
      'API_SECRET=x',
      'authorization=token%20k:s',
      'access_token=x',
      `x=${secret}`,
      secret,
      `x=tak_abc:${secret}`,
      // A real secret's body under another prefix, or none: the body is the secret.
      ...((body) => [`x=${body}`, `x=TAS_${body}`, `x=tas%26%2395%3B${body}`, body])(newApiSecret().slice(4)),
    ]) {
      const res = await fetch(`${s.url}/rpc?${q}`, { method: 'POST' });
      expect(res.status, q).to.equal(400);
    }
  });

  it('refuses anything shaped like a secret anywhere in the path, as sent or percent-decoded (found by an outside attacker)', async () => {
    const secret = 'tas_' + 'a1B2'.repeat(7) + 'xy';
    const body = secret.slice(4);
    for (const path of [
      `/rpc/${secret}`,
      `/api/method/${secret}`,
      `/api/resource/${secret}/x`,
      `/api/method/t%61s_${body}`,
      `/api/method/%74%61%73%5f${body}`,
      `/api/method/%2574as_${body}`,
      `/x%ZZ/t%61s_${body}`,
    ]) {
      const res = await fetch(`${s.url}${path}`, { method: 'POST' });
      expect(res.status, path).to.equal(400);
      const reply = (await res.json()) as { error: { message: string } };
      expect(reply.error.message, path).to.match(/^Do not send a secret in the URL/);
      expect(JSON.stringify(reply), path).not.to.include(body);
    }
    expect(secretInPath('/api/resource/User/kim%40example.com')).to.equal(false);
    expect(secretInPath('/api/method/tas_short')).to.equal(false);
    expect(secretInPath('/%')).to.equal(false);
  });

  it('lets other query strings and none through', async () => {
    const miss = 'TAS_' + 'a1B2'.repeat(7) + 'xy'; // no secret's checksum
    for (const path of ['/rpc', '/rpc?trace=1', '/rpc?api_key=tak_x', '/rpc?x=tas_short', `/rpc?x=${miss}`])
      expect((await fetch(`${s.url}${path}`, { method: 'POST' })).status, path).to.equal(200);
    expect(secretInQuery('a=1&token=2')).to.equal('token');
    // Encoded twice over: URLSearchParams decodes once (found in review).
    const body = newApiSecret().slice(4);
    const twice = body.replace(/./g, (c) => `%25${c.charCodeAt(0).toString(16)}`);
    expect(secretInQuery(`x=${twice}`)).to.equal('secret');
    expect(secretInQuery('a=1')).to.equal(undefined);
  });
});
