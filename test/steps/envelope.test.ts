import { expect } from 'chai';
import { envelope } from '../../src/http/steps/envelope.js';
import { body } from '../../src/http/steps/body.js';
import { stepServer, testDoor, type StepServer } from './step-server.js';

describe('pipeline step: envelope', () => {
  const jsonrpc = testDoor('jsonrpc');
  let s: StepServer;
  let other: StepServer;
  before(async () => {
    s = await stepServer([body({ perRequest: 100_000, perClient: 1e9, inFlight: 1e9 }), envelope(jsonrpc, 10)], jsonrpc);
    other = await stepServer([body({ perRequest: 100_000, perClient: 1e9, inFlight: 1e9 }), envelope(jsonrpc, 10)], testDoor('rest'));
  });
  after(async () => (await s.close(), await other.close()));

  const weight = async (server: StepServer, text: string) =>
    ((await (await fetch(`${server.url}/rpc`, { method: 'POST', body: text })).json()) as { weight: number }).weight;

  it("parses a JSON-RPC body once and charges a batch's token check for each call, at most MAX_BATCH", async () => {
    expect(await weight(s, '{"jsonrpc":"2.0","method":"m","id":1}')).to.equal(1);
    expect(await weight(s, JSON.stringify(Array(4).fill({ jsonrpc: '2.0', method: 'm', id: 1 })))).to.equal(4);
    expect(await weight(s, JSON.stringify(Array(50).fill(1)))).to.equal(10);
    expect(await weight(s, '[]')).to.equal(1);
    const parsed = s.served.at(-1)!.parsed!;
    expect(parsed.ok).to.equal(true);
    await weight(s, '{not json');
    expect(s.served.at(-1)!.parsed!.ok).to.equal(false);
  });

  it('keeps the digits of an id too long for a double', async () => {
    await weight(s, '{"jsonrpc":"2.0","method":"m","id":12345678901234567890}');
    expect(s.served.at(-1)!.parsed!.exactIds).to.deep.equal(['12345678901234567890']);
  });

  it('leaves other doors alone', async () => {
    expect(await weight(other, '[1,2,3]')).to.equal(1);
    expect(other.served.at(-1)!.parsed).to.equal(undefined);
  });
});
