/**
 * `npm start`: configuration, a database, the service; a clean stop on
 * SIGINT/SIGTERM. With WORKERS > 1 this process becomes a cluster primary
 * that holds the local database and forks the service WORKERS times.
 */
import cluster from 'node:cluster';
import { loadConfig, ConfigError, type Config } from './config.js';
import { createLogger } from './log.js';
import { startApp } from './app.js';
import { useLocalDatabase, type LocalDatabase } from './localdb/index.js';
import { relayChanges, shareChanges } from './cluster.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`tokenauth: invalid configuration: ${err.message}`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);

  let local: LocalDatabase | undefined;
  if (!config.mongodbUri) {
    local = await useLocalDatabase({
      dataDir: config.dataDir,
      advertise: true,
      progress: (line) => console.error(line),
    });
    log.info({ data_dir: config.dataDir, reused: !local.owned }, 'local database ready (MONGODB_URI unset)');
  }

  const uri = config.mongodbUri ?? local!.uri;
  if (config.workers > 1 && cluster.isPrimary) return primary(config, uri, local, log);

  const app = await startApp(config, uri, log);
  shareChanges(app.services);
  log.info({ url: app.url, db: config.dbName, worker: cluster.worker?.id }, 'listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await app.close();
    await local?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Forks the workers (replacing any that dies), relays their changes, and stops them on a signal. */
function primary(config: Config, uri: string, local: LocalDatabase | undefined, log: ReturnType<typeof createLogger>): void {
  relayChanges();
  // Workers reach the database the primary found or started.
  const env = { MONGODB_URI: uri };
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ worker: worker.id, code, signal }, 'worker died; starting another');
    cluster.fork(env);
  });
  for (let i = 0; i < config.workers; i++) cluster.fork(env);
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: config.workers }, 'shutting down workers');
    const workers = Object.values(cluster.workers ?? {}).filter((w) => !!w);
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.once('exit', resolve), w.process.kill('SIGTERM')))));
    await local?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`tokenauth: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
