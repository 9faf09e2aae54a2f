/**
 * A real HTTP server that runs only the pipeline steps a test names, then a
 * test door that answers 200 with what the steps learnt. So each step is
 * tested over real HTTP, on its own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { statusOf, type AppError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { Exchange, type Door, type Step } from '../../src/http/exchange.js';
import { run } from '../../src/http/pipeline.js';
import type { DoorName } from '../../src/rpc/spec.js';

export interface StepServer {
  url: string;
  logs: string[];
  /** The exchanges that reached the door, in order. */
  served: Exchange[];
  close(): Promise<void>;
}

/** A door for step tests: JSON-RPC-shaped errors; serving answers what the exchange holds. */
export function testDoor(name: DoorName = 'jsonrpc', readsBody = true): Door {
  return {
    name,
    readsBody,
    status: (err: AppError) => statusOf(err.kind),
    errorBody: (_x, err) => ({ error: err.toRpc(), door: name }),
    serve(x) {
      x.json(200, { door: x.door.name, allow: x.allow, route: x.route ?? null, body: x.body, weight: x.weight, origin: x.origin ?? null });
    },
  };
}

/** Serves with `steps`; `door` is set first (as route would), unless null: then the exchange starts with none, as in the service. */
export async function stepServer(steps: Step[], door: Door | null = testDoor(), allow: readonly string[] = ['POST']): Promise<StepServer> {
  const logs: string[] = [];
  const log = createLogger('debug', new Writable({ write: (c, _e, done) => (logs.push(String(c)), done()) }));
  const metrics = new Metrics();
  const served: Exchange[] = [];
  const recording: Step = (x) => (served.push(x), true);
  const server = http.createServer((req, res) => {
    const x = new Exchange(req, res, log, metrics);
    if (door !== null) {
      x.door = door;
      x.allow = allow;
    }
    void run([...steps, recording], x);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    served,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
