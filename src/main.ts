/** `npm start`: configuration, a database, the service; a clean stop on SIGINT/SIGTERM. */
import { loadConfig, ConfigError, type Config } from './config.js';
import { createLogger } from './log.js';
import { startApp } from './app.js';
import { useLocalDatabase, type LocalDatabase } from './localdb/index.js';

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

  const app = await startApp(config, config.mongodbUri ?? local!.uri, log);
  log.info({ url: app.url, db: config.dbName }, 'listening');

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

main().catch((err: unknown) => {
  console.error(`tokenauth: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
