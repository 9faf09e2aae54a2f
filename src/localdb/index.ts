/**
 * A local MongoDB-compatible server for `npm start`, the CLI and the tests
 * when MONGODB_URI is unset: secantusdb (installed on first use, see
 * secantusdb.ts) as a single-node replica set, so change streams and
 * transactions are there, on a free loopback port, with no authentication:
 * for one machine only. With `standalone` it answers as a standalone server
 * instead, which refuses change streams as mongod does (for the tests and
 * the benchmark of what the service does without them).
 *
 * `npm start` records the running server in <dataDir>/local-db.json so the CLI
 * can use the same database while the service runs; when it does not run,
 * the CLI starts its own short-lived server on the same data. The data folder
 * and everything the server writes are its owner's alone (0700 / 0600).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { ensureSecantusDb, SERVER_MAIN } from './secantusdb.js';

export interface LocalDatabase {
  uri: string;
  /** Whether this process started the server (and so must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

export interface LocalDatabaseOptions {
  dataDir: string;
  /** Write <dataDir>/local-db.json so other processes can find this server. */
  advertise: boolean;
  /** A fixed port (to start a stopped server again where clients expect it); default a free one. */
  port?: number;
  /**
   * Answer as a standalone server, not a single-node replica set
   * (secantusdb's --standalone: hello names no replica set, and
   * `$changeStream` fails with code 40573, "only supported on replica sets",
   * as on a standalone mongod). Default false.
   */
  standalone?: boolean;
  progress: (line: string) => void;
}

export const STATE_FILE = 'local-db.json';
/** The server's storage folder inside the data folder. */
export const STORAGE_DIR = 'secantusdb';

/**
 * Runs the server under a shell that stops it when our end of its stdin
 * closes, which happens when we call stop() and also when this process dies
 * in any way (a killed test run must not leave a database behind). `wait`
 * passes the server's own exit on, so an early crash is still seen.
 */
const WATCHDOG = 'umask 077; exec 3<&0; "$@" </dev/null & pid=$!; (cat <&3 >/dev/null; kill $pid 2>/dev/null) & wait $pid';
const READY_TIMEOUT_MS = 60_000;

export async function startLocalDatabase(opts: LocalDatabaseOptions): Promise<LocalDatabase> {
  privateDir(opts.dataDir);
  const python = await ensureSecantusDb(opts.progress);
  const port = opts.port ?? (await freePort());
  const storage = path.join(opts.dataDir, STORAGE_DIR);
  privateDir(storage);
  // Passing a config file stops secantusdb reading ./secantusd.toml or
  // ~/.secantus/secantusd.toml: only these flags decide how it runs.
  const config = path.join(opts.dataDir, 'secantusd.toml');
  fs.writeFileSync(config, '# Left empty on purpose: tokenauth passes every setting as a flag.\n', { mode: 0o600 });
  const args = [
    ...['-I', '-c', SERVER_MAIN, '--config', config],
    ...['--host', '127.0.0.1', '--port', String(port), '--storage-path', storage],
    ...['--log-level', 'WARNING', '--cache-size', '256M'], // a small local database: 256 MB of cache, not its 1 GB default
    ...(opts.standalone ? ['--standalone'] : []),
  ];
  const logFile = path.join(opts.dataDir, 'secantusdb.log');
  const out = fs.openSync(logFile, 'a', 0o600);
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'local-db', python, ...args], {
    stdio: ['pipe', out, out],
    detached: true, // its own process group: a terminal's Ctrl-C reaches us, and we stop it in order
  });
  fs.closeSync(out);
  // It answers hello as a replica-set primary named "secantus", advertising
  // 127.0.0.1:<port> (or, standalone, as a standalone server): a direct
  // connection needs no host names to match.
  //
  // retryWrites=false: secantusdb keeps a record of every retryable write
  // for 30 minutes, up to 10,000, and walks them all (past 10,000 it also
  // sorts them) under one lock on every such write, so each write gets
  // slower until it takes 70-150 ms instead of 2-3 ms (measured: 15,000
  // upserts take 193 s with retryable writes, 37 s without). On loopback
  // the driver's one automatic retry after a network error is worth little:
  // a write whose reply is lost fails its call, as after a failed retry,
  // which the service already handles (test/lost-replies.test.ts). A real
  // MongoDB (MONGODB_URI) keeps the driver's default.
  const uri = `mongodb://127.0.0.1:${port}/?directConnection=true&retryWrites=false`;
  try {
    await waitUntilReady(child, port, uri, logFile);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const stateFile = path.join(opts.dataDir, STATE_FILE);
  if (opts.advertise) {
    fs.writeFileSync(stateFile, JSON.stringify({ pid: child.pid, uri }) + '\n', { mode: 0o600 });
    fs.chmodSync(stateFile, 0o600); // a file left by an older run keeps its old mode otherwise
  }
  return {
    uri,
    owned: true,
    async stop() {
      if (opts.advertise) fs.rmSync(stateFile, { force: true });
      await stopChild(child);
    },
  };
}

/** The server a running `npm start` advertised for this data folder, if it still answers. */
export async function findLocalDatabase(dataDir: string): Promise<LocalDatabase | undefined> {
  let state: { pid?: unknown; uri?: unknown };
  try {
    state = JSON.parse(fs.readFileSync(path.join(dataDir, STATE_FILE), 'utf8')) as typeof state;
  } catch {
    return undefined;
  }
  if (typeof state.pid !== 'number' || typeof state.uri !== 'string') return undefined;
  const port = Number(/:(\d+)\//.exec(state.uri)?.[1]);
  if (!alive(state.pid) || !(await accepts(port))) return undefined;
  return { uri: state.uri, owned: false, stop: async () => {} };
}

/** Reuse the advertised server, else start one. */
export async function useLocalDatabase(opts: LocalDatabaseOptions): Promise<LocalDatabase> {
  return (await findLocalDatabase(opts.dataDir)) ?? startLocalDatabase(opts);
}

/** Creates the folder if needed and makes it its owner's alone, as an existing one too. */
function privateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Until the server answers a ping, not only accepts connections. */
async function waitUntilReady(child: ChildProcess, port: number, uri: string, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`local database exited with code ${child.exitCode}; see ${logFile}:\n${tail(logFile)}`);
    }
    if (await accepts(port)) {
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
      try {
        await client.db('admin').command({ ping: 1 });
        return;
      } catch {
        // listening, not answering yet
      } finally {
        await client.close();
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`local database did not answer on port ${port} within ${READY_TIMEOUT_MS / 1000}s; see ${logFile}`);
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.stdin?.end(); // the watchdog stops the server and waits for it
  });
}
