/** One address cannot hold the server's connections (found by an outside attacker: 7,300 idle ones from one address). */
import { expect } from 'chai';
import net from 'node:net';
import { useService, sleep } from './harness.js';

describe('open connections per client address', () => {
  const svc = useService({ maxConnectionsPerClient: 5 });

  it('closes connections past MAX_CONNECTIONS_PER_CLIENT at once, and takes new ones as others close', async () => {
    const { port } = new URL(svc.url);
    const open = (localAddress = '127.0.0.1') =>
      new Promise<{ socket: net.Socket; closed: Promise<void> }>((resolve) => {
        const socket = net.connect({ port: Number(port), host: '127.0.0.1', localAddress }, () =>
          resolve({ socket, closed: new Promise((r) => socket.once('close', () => r())) }),
        );
        socket.on('error', () => {});
      });
    const held = await Promise.all(Array.from({ length: 8 }, () => open()));
    await sleep(200);
    expect(held.filter((h) => h.socket.destroyed).length).to.equal(3);
    // Another address is not affected.
    const other = await open('127.0.0.2');
    await sleep(100);
    expect(other.socket.destroyed).to.equal(false);
    for (const h of held) h.socket.destroy();
    await sleep(200);
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).to.equal(200);
    other.socket.destroy();
    expect(svc.logs.filter((l) => l.includes('too many open connections')).length).to.equal(1);
  });
});
