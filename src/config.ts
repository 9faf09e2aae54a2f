/**
 * Environment -> typed, validated configuration. Every value is checked at
 * start so a typo fails loudly with the variable's name, never later.
 */
import path from 'node:path';
import { packageRoot } from './paths.js';
import { parseRange, rangeText } from './ip.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  port: number;
  host: string;
  /** Unset means "provide a local database" (see src/localdb). */
  mongodbUri: string | undefined;
  dbName: string;
  logLevel: LogLevel;
  /** How long a call waits for the database before failing with -32050. */
  dbTimeoutMs: number;
  /** The server-side time limit (maxTimeMS) of every database operation; past it: -32050. */
  dbOpTimeoutMs: number;
  /** Largest request body read, in bytes. */
  maxBodyBytes: number;
  /** Body bytes one client address may have in flight at once, over all its requests; past it: 429. */
  maxBodyBytesPerClient: number;
  /** Body bytes all clients together may have in flight at once; past it: 503. */
  maxBodyBytesInFlight: number;
  /** Open connections one client address may hold; more are closed at once. */
  maxConnectionsPerClient: number;
  /**
   * Proxies whose X-Forwarded-For is believed (CIDR ranges, canonical); empty:
   * the client is the socket's peer. See src/http/client-address.ts.
   */
  trustedProxies: string[];
  /** Where `npm start` and the CLI keep the local database's files. */
  dataDir: string;
  /**
   * How long a verified api_key is trusted without reading the database, at
   * most: changes made elsewhere drop entries sooner, through key_events
   * (keyEvents*). 0: no cache.
   */
  authCacheTtlMs: number;
  authCacheSize: number;
  /** Failed authentications allowed per client address and per api_key in a window. */
  authFailureLimit: number;
  authFailureWindowMs: number;
  /** Largest number of calls in one batch. */
  maxBatch: number;
  /** Most rows one batch may ask for: the sum of its calls' page sizes (`limit`). */
  maxBatchRows: number;
  /** Rows one caller may read per second, across its requests (see rpc/row-rate.ts). */
  maxRowsPerSecond: number;
  /** Largest answer, in bytes, of a batch or of a single call. */
  maxResponseBytes: number;
  /** Against slow clients: time to send the headers, and the whole request. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** On SIGTERM, how long in-flight requests may take to finish. */
  shutdownTimeoutMs: number;
  /** Copies of the service on one port (node:cluster); 1 runs no cluster. */
  workers: number;
  /** Browser origins allowed to call across origins (CORS); empty: CORS off. */
  corsOrigins: string[];
  /** Longest grace_seconds generate_keys accepts (the old secret's life after a rotation). */
  maxGraceSeconds: number;
  /** How changes made by other instances are followed (src/auth/event-feed.ts); auto: a change stream where the server has them. */
  keyEventsMode: KeyEventsMode;
  /** While the feed is down, a cached entry older than this is read again before it is trusted. */
  keyEventsStaleMs: number;
  /** How long change events are kept; an instance whose feed was down longer forgets its whole cache. */
  keyEventsRetentionMs: number;
  /** What a reported leak does to a live secret (src/methods/leaks.ts), and how long `expire` leaves it working. */
  leakPolicy: LeakPolicy;
  leakGraceSeconds: number;
  /** GitHub's secret-scanning signing keys: a file, a URL (cached), both or neither (the endpoint is then off). */
  secretScanning: SecretScanningConfig;
}

export const LEAK_POLICIES = ['revoke', 'expire'] as const;
export type LeakPolicy = (typeof LEAK_POLICIES)[number];

export interface SecretScanningConfig {
  keysFile: string | undefined;
  keysUrl: string | undefined;
  /** How long an answer of keysUrl is used before it is asked again. */
  keysRefreshMs: number;
  /** Largest report body, and most tokens in one report. */
  maxBodyBytes: number;
  maxTokens: number;
}

export const KEY_EVENTS_MODES = ['auto', 'change_stream', 'poll'] as const;
export type KeyEventsMode = (typeof KEY_EVENTS_MODES)[number];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return Number(raw);
}

/** CORS_ORIGINS: a comma-separated list of exact origins such as https://tools.example.com. */
function origins(raw: string | undefined): string[] {
  const list = (raw ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of list) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      // not a URL at all: refused just below, with the rest
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(`CORS_ORIGINS must list origins such as https://app.example.com, comma-separated (got ${JSON.stringify(origin)})`);
    }
  }
  return list;
}

/** TRUSTED_PROXIES: CIDR ranges or addresses, comma-separated, such as 10.0.0.0/8,fd00::/8. */
function proxies(raw: string | undefined): string[] {
  const list = (raw ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return list.map((entry) => {
    const range = parseRange(entry);
    if (typeof range === 'string') throw new ConfigError(`TRUSTED_PROXIES: ${JSON.stringify(entry)} ${range}`);
    return rangeText(range);
  });
}

/** The database name is the URI's path, as every MongoDB tool reads it. */
export function dbNameFromUri(uri: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(uri);
  const name = m?.[1] ? decodeURIComponent(m[1]) : undefined;
  return name || undefined;
}

/** The same server, another database: the URI with its path replaced. */
export function withDatabase(uri: string, dbName: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]*)(\/[^?]*)?/, `$1/${dbName}`);
}

const DB_NAME = /^[A-Za-z0-9_-]{1,63}$/;

export function loadConfig(env: Env = process.env): Config {
  const mongodbUri = env.MONGODB_URI?.trim() || undefined;
  if (mongodbUri !== undefined && !/^mongodb(\+srv)?:\/\/[^/?]+/.test(mongodbUri)) {
    throw new ConfigError(
      'MONGODB_URI must look like mongodb://host:port/dbname or mongodb+srv://host/dbname (the value is not shown: it may hold a password)',
    );
  }
  const dbName = (mongodbUri && dbNameFromUri(mongodbUri)) || 'tokenauth';
  if (!DB_NAME.test(dbName)) {
    throw new ConfigError(`the database name in MONGODB_URI must match ${DB_NAME} (got ${JSON.stringify(dbName)})`);
  }

  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(env.LOG_LEVEL)})`);
  }

  const keyEventsMode = (env.KEY_EVENTS_MODE?.trim() || 'auto') as KeyEventsMode;
  if (!KEY_EVENTS_MODES.includes(keyEventsMode)) {
    throw new ConfigError(`KEY_EVENTS_MODE must be one of ${KEY_EVENTS_MODES.join(', ')} (got ${JSON.stringify(env.KEY_EVENTS_MODE)})`);
  }

  const leakPolicy = (env.LEAK_POLICY?.trim() || 'revoke') as LeakPolicy;
  if (!LEAK_POLICIES.includes(leakPolicy)) {
    throw new ConfigError(`LEAK_POLICY must be one of ${LEAK_POLICIES.join(', ')} (got ${JSON.stringify(env.LEAK_POLICY)})`);
  }
  const keysUrl = env.SECRET_SCANNING_KEYS_URL?.trim() || undefined;
  if (keysUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(keysUrl)) {
    throw new ConfigError(`SECRET_SCANNING_KEYS_URL must be an http(s) URL (got ${JSON.stringify(keysUrl)})`);
  }
  const keysFile = env.SECRET_SCANNING_KEYS_FILE?.trim() || undefined;

  const host = env.HOST?.trim() || '127.0.0.1';
  if (/\s/.test(host)) throw new ConfigError(`HOST must be a host name or address (got ${JSON.stringify(env.HOST)})`);

  return {
    port: integer(env, 'PORT', 8000, 0, 65535),
    host,
    mongodbUri,
    dbName,
    logLevel,
    dbTimeoutMs: integer(env, 'DB_TIMEOUT_MS', 5000, 100, 120_000),
    dbOpTimeoutMs: integer(env, 'DB_OP_TIMEOUT_MS', 5000, 100, 600_000),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxBodyBytesPerClient: integer(env, 'MAX_BODY_BYTES_PER_CLIENT', 8 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
    maxBodyBytesInFlight: integer(env, 'MAX_BODY_BYTES_IN_FLIGHT', 256 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    maxConnectionsPerClient: integer(env, 'MAX_CONNECTIONS_PER_CLIENT', 256, 1, 1_000_000),
    trustedProxies: proxies(env.TRUSTED_PROXIES),
    authCacheTtlMs: integer(env, 'AUTH_CACHE_TTL_MS', 600_000, 0, 3_600_000),
    authCacheSize: integer(env, 'AUTH_CACHE_SIZE', 10_000, 1, 10_000_000),
    authFailureLimit: integer(env, 'AUTH_FAILURE_LIMIT', 20, 1, 1_000_000),
    authFailureWindowMs: integer(env, 'AUTH_FAILURE_WINDOW_MS', 60_000, 1000, 86_400_000),
    maxBatch: integer(env, 'MAX_BATCH', 100, 1, 10_000),
    maxBatchRows: integer(env, 'MAX_BATCH_ROWS', 1000, 1, 10_000_000),
    maxRowsPerSecond: integer(env, 'MAX_ROWS_PER_SECOND', 1000, 1, 10_000_000),
    maxResponseBytes: integer(env, 'MAX_RESPONSE_BYTES', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    headersTimeoutMs: integer(env, 'HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    workers: integer(env, 'WORKERS', 1, 1, 64),
    corsOrigins: origins(env.CORS_ORIGINS),
    maxGraceSeconds: integer(env, 'MAX_GRACE_SECONDS', 7 * 86_400, 0, 365 * 86_400),
    keyEventsMode,
    keyEventsStaleMs: integer(env, 'KEY_EVENTS_STALE_MS', 1000, 0, 60_000),
    // At least 5 s: more than twice the pollers' re-read window (2 s, event-feed.ts).
    keyEventsRetentionMs: integer(env, 'KEY_EVENTS_RETENTION_MS', 3_600_000, 5000, 7 * 86_400_000),
    leakPolicy,
    // An hour: time for whoever is paged to rotate; a leaked secret working longer than that is the risk `revoke` avoids.
    leakGraceSeconds: integer(env, 'LEAK_GRACE_SECONDS', 3600, 0, 7 * 86_400),
    secretScanning: {
      keysFile: keysFile === undefined ? undefined : path.resolve(keysFile),
      keysUrl,
      keysRefreshMs: integer(env, 'SECRET_SCANNING_KEYS_REFRESH_MS', 3_600_000, 10_000, 7 * 86_400_000),
      maxBodyBytes: integer(env, 'SECRET_SCANNING_MAX_BODY_BYTES', 512 * 1024, 1024, 16 * 1024 * 1024),
      maxTokens: integer(env, 'SECRET_SCANNING_MAX_TOKENS', 1000, 1, 100_000),
    },
    dataDir: path.resolve(env.DATA_DIR?.trim() || path.join(packageRoot, 'data')),
  };
}
