/**
 * The HTTP server: health probes and the web page (/app, web.ts) are served
 * here; every door (JSON-RPC on /rpc and /, Frappe's REST paths under /api/,
 * /metrics) goes through the pipeline (pipeline.ts).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { JsonRpcServer } from '../rpc/jsonrpc.js';
import type { Dispatcher } from '../rpc/dispatch.js';
import type { Services } from '../rpc/spec.js';
import { AppError, statusOf } from '../errors.js';
import { Exchange } from './exchange.js';
import { pipeline } from './pipeline.js';
import { jsonRpcDoor } from './doors/jsonrpc.js';
import { frappeDoor } from './doors/frappe.js';
import { metricsDoor } from './doors/metrics.js';
import { secretScanningDoor, type SecretScanningLimits } from './doors/secret-scanning.js';
import type { ScanningKeys } from '../auth/scanning-keys.js';
import { serveWebApp } from './web.js';
import { secretInUrl } from './steps/url-secret.js';
import { isTrusted } from './client-address.js';
import { clientGroup, peerAddress, type Ranges } from '../ip.js';

export interface HttpDeps {
  /** True once shutdown began: answer what is in flight, then close the connection. */
  draining(): boolean;
  services: Services;
  /** The method table, for the REST door (the JSON-RPC door reaches it through jayson). */
  dispatcher: Dispatcher;
  jsonrpc: JsonRpcServer;
  log: Logger;
  maxBodyBytes: number;
  /** Body bytes in flight per client address and in all (MAX_BODY_BYTES_PER_CLIENT, MAX_BODY_BYTES_IN_FLIGHT). */
  maxBodyBytesPerClient: number;
  maxBodyBytesInFlight: number;
  /** Open connections per client address (MAX_CONNECTIONS_PER_CLIENT). */
  maxConnectionsPerClient: number;
  /** TRUSTED_PROXIES (client-address.ts); null: none. */
  trustedProxies: Ranges | null;
  maxBatch: number;
  /** A batch's budget: the rows its calls may ask for in all (MAX_BATCH_ROWS). */
  maxBatchRows: number;
  /** The largest answer of a batch or a single call (MAX_RESPONSE_BYTES). */
  maxResponseBytes: number;
  /** Origins allowed to call from a browser (CORS); empty: CORS off. */
  corsOrigins: readonly string[];
  /** GitHub's signing keys and the report's limits; no keys configured: the endpoint is not served. */
  secretScanning?: { keys: ScanningKeys; limits: SecretScanningLimits } | undefined;
}

export function createHttpServer(deps: HttpDeps): http.Server {
  const { services, log } = deps;
  const serveDoor = pipeline({
    services,
    doors: {
      jsonrpc: jsonRpcDoor(deps.jsonrpc, deps),
      rest: frappeDoor(deps.dispatcher),
      metrics: metricsDoor(services.metrics),
      secretScanning: deps.secretScanning?.keys.enabled ? secretScanningDoor(deps.secretScanning.keys, services, deps.secretScanning.limits) : undefined,
    },
    body: { perRequest: deps.maxBodyBytes, perClient: deps.maxBodyBytesPerClient, inFlight: deps.maxBodyBytesInFlight },
    maxBatch: deps.maxBatch,
    corsOrigins: deps.corsOrigins,
    costOf: (m) => deps.dispatcher.cost(m),
  });
  // Node checks header and request timeouts only this often (30 s by default).
  const server = http.createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    const x = new Exchange(req, res, log, services.metrics, deps.trustedProxies);
    if (deps.draining()) res.setHeader('Connection', 'close');
    const { path } = x;
    // The page and the probes are served outside the pipeline; a URL holding a secret goes
    // through it instead, to be refused there (secret_in_url) as on every other path.
    const outside = (path === '/app' || path.startsWith('/app/') || path === '/healthz' || path === '/readyz') && secretInUrl(x) === undefined;
    if (outside && path.startsWith('/app')) return serveWebApp(req, res, path);
    // http.Server drops what the listener returns: a failure is caught here, or it would be an unhandled rejection.
    const served = outside ? probe(deps, x) : serveDoor(x);
    served.catch((err: unknown) => {
      log.error({ err }, 'unhandled request failure');
      x.fail(new AppError('internal'));
    });
  });
  limitConnections(server, deps.maxConnectionsPerClient, deps.trustedProxies, log);
  return server;
}

/**
 * Liveness (the process answers) and readiness (not draining, the database
 * answers). Readiness also tells how changes made by other instances reach
 * this one (`key_events`): always with `?verbose`, and otherwise only when it
 * is "down", the case to act on. Down stays ready (200): tokens are then
 * read from the database more often, not trusted longer.
 */
async function probe(deps: HttpDeps, x: Exchange): Promise<void> {
  if (x.req.method !== 'GET' && x.req.method !== 'HEAD') {
    x.res.setHeader('Allow', 'GET, HEAD');
    return x.fail(new AppError('method_not_allowed'));
  }
  if (x.path === '/healthz') return x.json(200, { status: 'ok' });
  const ready = !deps.draining() && (await deps.services.storage.ping());
  const keyEvents = deps.services.auth.keyEvents;
  const verbose = new URLSearchParams(x.query).has('verbose');
  const body = { status: ready ? 'ready' : 'unavailable', ...(verbose || keyEvents === 'down' ? { key_events: keyEvents } : {}) };
  x.json(ready ? 200 : statusOf('storage_unavailable'), body);
}

/**
 * At most `max` open connections per client address (an IPv6 client: per
 * /64); more are closed as they come, before a byte is read (found by an
 * outside attacker: one address held 7,300 idle connections). Logged once
 * per address while it stays over.
 *
 * Before a byte is read, the client behind a proxy is unknown: every
 * connection comes from the proxy. So a trusted proxy (TRUSTED_PROXIES) is
 * not limited here, or it would be throttled as one client; it must bound
 * the connections of the clients behind it itself, and the limits per
 * client address that follow (bodies, failed guesses) see each of them.
 */
function limitConnections(server: http.Server, max: number, trusted: Ranges | null, log: Logger): void {
  const open = new Map<string, number>();
  const warned = new Set<string>();
  server.on('connection', (socket: Socket) => {
    const peer = peerAddress(socket.remoteAddress);
    if (trusted !== null && isTrusted(trusted, peer)) return;
    const address = clientGroup(peer);
    const n = (open.get(address) ?? 0) + 1;
    if (n > max) {
      if (!warned.has(address)) log.warn({ client: address, max }, 'connection refused: too many open connections from this address');
      warned.add(address);
      socket.destroy();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
      if (left < max) warned.delete(address);
    });
  });
}
