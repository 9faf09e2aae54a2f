import { expect } from 'chai';
import net from 'node:net';
import { useService } from './harness.js';

/** Opens a raw connection, sends `first`, and reports what came back and when the server closed it. */
function trickle(url: string, first: string): Promise<{ reply: string; ms: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    let reply = '';
    socket.on('data', (d) => (reply += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve({ reply, ms: Date.now() - started }));
    socket.setTimeout(15_000, () => socket.destroy(new Error('the server never gave up on a slow client')));
    socket.write(first);
  });
}

describe('slow clients', function () {
  this.timeout(30_000);
  const svc = useService({ headersTimeoutMs: 500, requestTimeoutMs: 1500 });

  it('gets 408 and is cut off when its headers take longer than HEADERS_TIMEOUT_MS', async () => {
    const { reply, ms } = await trickle(svc.url, 'POST /rpc HTTP/1.1\r\nHost: x\r\n');
    expect(reply).to.match(/^HTTP\/1.1 408/);
    expect(ms).to.be.below(5000);
  });

  it('gets 408 and is cut off when its body takes longer than REQUEST_TIMEOUT_MS', async () => {
    const { reply, ms } = await trickle(
      svc.url,
      `POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: token ${svc.adminToken}\r\nContent-Length: 100\r\n\r\n{"jsonrpc"`,
    );
    expect(reply).to.match(/^HTTP\/1.1 408/);
    expect(ms).to.be.below(6000);
  });

  it('keeps answering others meanwhile', async () => {
    const slow = trickle(svc.url, 'POST /rpc HTTP/1.1\r\nHost: x\r\n');
    const reply = await svc.call('frappe.auth.get_logged_user');
    expect(reply.body.result).to.equal('Administrator');
    await slow;
  });
});
