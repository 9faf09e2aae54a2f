import { expect } from 'chai';
import http from 'node:http';
import { body } from '../../src/http/steps/body.js';
import { sleep } from '../harness.js';
import { stepServer, testDoor, type StepServer } from './step-server.js';

describe('pipeline step: body', () => {
  let s: StepServer;
  let noBody: StepServer;
  before(async () => {
    s = await stepServer([body(1000)]);
    noBody = await stepServer([body(1000)], testDoor('metrics', false));
  });
  after(async () => (await s.close(), await noBody.close()));

  it('reads the whole body as UTF-8, in one chunk or many', async () => {
    const text = 'ünïcødé '.repeat(50);
    const res = await fetch(`${s.url}/rpc`, { method: 'POST', body: text });
    expect(((await res.json()) as { body: string }).body).to.equal(text);
  });

  it('refuses more than the limit with 413 and closes the connection, declared or sent', async () => {
    const declared = await fetch(`${s.url}/rpc`, { method: 'POST', body: 'x'.repeat(1001) });
    expect(declared.status).to.equal(413);
    expect(declared.headers.get('connection')).to.equal('close');
    expect(((await declared.json()) as { error: { message: string } }).error.message).to.equal('Request body too large');
    // Chunked: no Content-Length, so the limit is found while reading.
    const chunked = await fetch(`${s.url}/rpc`, {
      method: 'POST',
      body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('x'.repeat(1500))), c.close()) }),
      duplex: 'half',
    });
    expect(chunked.status).to.equal(413);
  });

  it('logs a client that goes away mid-upload once, at info, and answers nothing', async () => {
    const before = s.served.length;
    const req = http.request(`${s.url}/rpc`, { method: 'POST', headers: { 'content-length': '500' } });
    req.on('error', () => {});
    req.write('x'.repeat(100));
    await sleep(50);
    req.destroy();
    await sleep(100);
    expect(s.served.length).to.equal(before);
    expect(s.logs.filter((l) => l.includes('body_incomplete'))).to.have.length(1);
  });

  it('reads nothing for a door that takes no body', async () => {
    const res = await fetch(`${noBody.url}/metrics`, { method: 'POST', body: 'x'.repeat(5000) });
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { body: string }).body).to.equal('');
  });
});
