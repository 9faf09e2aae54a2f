import { expect } from 'chai';
import http from 'node:http';
import { body } from '../../src/http/steps/body.js';
import { sleep } from '../harness.js';
import { stepServer, testDoor, type StepServer } from './step-server.js';

describe('pipeline step: body', () => {
  let s: StepServer;
  let noBody: StepServer;
  before(async () => {
    s = await stepServer([body({ perRequest: 1000, perClient: 1e9, inFlight: 1e9 })]);
    noBody = await stepServer([body({ perRequest: 1000, perClient: 1e9, inFlight: 1e9 })], testDoor('metrics', false));
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

describe('pipeline step: body, bytes in flight (found by an outside attacker)', () => {
  let s: StepServer;
  before(async () => (s = await stepServer([body({ perRequest: 100_000, perClient: 150_000, inFlight: 200_000 })])));
  after(() => s.close());

  /** Opens an upload of `declared` bytes, sends `sent` of them, and keeps it open. */
  const hold = async (declared: number, sent: number, localAddress = '127.0.0.1') => {
    const req = http.request(`${s.url}/rpc`, { method: 'POST', headers: { 'content-length': String(declared) }, localAddress });
    const status = new Promise<number>((resolve) => req.on('response', (res) => (res.resume(), resolve(res.statusCode!))));
    req.on('error', () => {});
    req.write('x'.repeat(sent));
    await sleep(100);
    return { req, status };
  };

  it('refuses a client past its bytes in flight with 429, and everyone past the total with 503; both close the connection', async () => {
    const a = await hold(90_000, 80_000);
    const b = await hold(90_000, 80_000); // 160,000 from one address: over 150,000
    expect(await b.status).to.equal(429);
    const c = await hold(90_000, 80_000, '127.0.0.2'); // 160,000 in all
    const d = await hold(90_000, 80_000, '127.0.0.3'); // 240,000 in all: over 200,000
    expect(await d.status).to.equal(503);
    for (const r of [a, c]) r.req.destroy();
    await sleep(100);
    // What the refused and abandoned uploads held is given back.
    const ok = await fetch(`${s.url}/rpc`, { method: 'POST', body: 'y'.repeat(90_000) });
    expect(ok.status).to.equal(200);
  });
});
