/**
 * Assembles the service from a config: storage, the token check, the method
 * table, the doors. Used by main.ts and by the tests, so tests run the real thing.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { Storage } from './store/storage.js';
import { Authenticator } from './auth/verify.js';
import { Dispatcher, type Observers } from './rpc/dispatch.js';
import { loadSchemas } from './rpc/schemas.js';
import { createJsonRpcServer } from './rpc/jsonrpc.js';
import { createHttpServer } from './http/server.js';
import { methodTable } from './methods/index.js';
import type { Services } from './rpc/spec.js';
import { Metrics } from './metrics.js';
import { RowRate } from './rpc/row-rate.js';
import { ScanningKeys } from './auth/scanning-keys.js';
import { Ranges } from './ip.js';

export interface App {
  services: Services;
  dispatcher: Dispatcher;
  server: http.Server;
  url: string;
  /**
   * Stops accepting, lets in-flight requests finish (at most
   * `shutdownTimeoutMs`, then cuts them), closes the database.
   */
  close(): Promise<void>;
}

export function createDispatcher(observers: Observers): Dispatcher {
  return new Dispatcher(methodTable, loadSchemas(), observers);
}

export async function openServices(config: Config, uri: string): Promise<Services> {
  const storage = await Storage.open(uri, config.dbName, config.dbTimeoutMs, config.dbOpTimeoutMs);
  const metrics = new Metrics();
  const auth = new Authenticator(storage, metrics, {
    cacheTtlMs: config.authCacheTtlMs,
    cacheSize: config.authCacheSize,
    failures: { limit: config.authFailureLimit, windowMs: config.authFailureWindowMs, maxTracked: 100_000 },
  });
  return {
    storage,
    auth,
    metrics,
    limits: { maxGraceSeconds: config.maxGraceSeconds },
    rowRate: new RowRate(config.maxRowsPerSecond),
    leaks: { policy: config.leakPolicy, graceSeconds: config.leakGraceSeconds },
  };
}

export async function startApp(config: Config, uri: string, log: Logger): Promise<App> {
  const { keysFile, keysUrl, keysRefreshMs, maxBodyBytes, maxTokens } = config.secretScanning;
  // The file is read first (a bad one stops the start); the URL is asked in the background, never waited for.
  const scanningKeys = await ScanningKeys.load({ file: keysFile, url: keysUrl, refreshMs: keysRefreshMs }, log);
  const services = await openServices(config, uri);
  // Follow other instances' changes before serving, so the first requests already find a trusted cache.
  await services.auth.followEvents(
    { mode: config.keyEventsMode, staleMs: config.keyEventsStaleMs, retentionMs: config.keyEventsRetentionMs, waitMs: config.dbTimeoutMs },
    log,
  );
  const dispatcher = createDispatcher({ metrics: services.metrics, log });
  let draining = false;
  const server = createHttpServer({
    draining: () => draining,
    services,
    dispatcher,
    jsonrpc: createJsonRpcServer(dispatcher),
    log,
    maxBodyBytes: config.maxBodyBytes,
    maxBodyBytesPerClient: config.maxBodyBytesPerClient,
    maxBodyBytesInFlight: config.maxBodyBytesInFlight,
    maxConnectionsPerClient: config.maxConnectionsPerClient,
    trustedProxies: config.trustedProxies.length > 0 ? Ranges.of(config.trustedProxies) : null,
    maxBatch: config.maxBatch,
    maxBatchRows: config.maxBatchRows,
    maxResponseBytes: config.maxResponseBytes,
    corsOrigins: config.corsOrigins,
    secretScanning: { keys: scanningKeys, limits: { maxBodyBytes, maxTokens } },
  });
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    services,
    dispatcher,
    server,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    async close() {
      draining = true;
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
        // A kept-alive connection turns idle once its last response is out: close it then.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(cut);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      await services.auth.close();
      await services.storage.close();
    },
  };
}
