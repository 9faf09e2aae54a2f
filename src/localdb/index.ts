/**
 * A local MongoDB-compatible server for `npm start`, the CLI and the tests
 * when MONGODB_URI is unset: a `mongod` on PATH if there is one, else
 * FerretDB (built on first use), on a free loopback port.
 *
 * `npm start` records the running server in <dataDir>/local-db.json so the CLI
 * can use the same database while the service runs; when it does not run,
 * the CLI starts its own short-lived server on the same data.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureFerretDb } from './ferretdb.js';
import { which } from './which.js';

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
  progress: (line: string) => void;
}

const STATE_FILE = 'local-db.json';

/**
 * Runs the server under a shell that stops it when our end of its stdin
 * closes, which happens when we call stop() and also when this process dies
 * in any way (a killed test run must not leave a database behind). `wait`
 * passes the server's own exit on, so an early crash is still seen.
 */
const WATCHDOG = 'exec 3<&0; "$@" </dev/null & pid=$!; (cat <&3 >/dev/null; kill $pid 2>/dev/null) & wait $pid';
const READY_TIMEOUT_MS = 30_000;

export async function startLocalDatabase(opts: LocalDatabaseOptions): Promise<LocalDatabase> {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const { cmd, args, dir } = await serverCommand(opts.dataDir, port, opts.progress);
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'server.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'local-db', cmd, ...args], {
    stdio: ['pipe', out, out],
    detached: true, // its own process group: a terminal's Ctrl-C reaches us, and we stop it in order
  });
  fs.closeSync(out);
  const uri = `mongodb://127.0.0.1:${port}/`;
  try {
    await waitUntilListening(child, port, logFile);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const stateFile = path.join(opts.dataDir, STATE_FILE);
  if (opts.advertise) fs.writeFileSync(stateFile, JSON.stringify({ pid: child.pid, uri }) + '\n');
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
    state = JSON.parse(fs.readFileSync(path.join(dataDir, STATE_FILE), 'utf8'));
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

async function serverCommand(dataDir: string, port: number, progress: (line: string) => void) {
  const mongod = which('mongod');
  if (mongod) {
    const dir = path.join(dataDir, 'mongod');
    fs.mkdirSync(dir, { recursive: true });
    return { cmd: mongod, args: ['--dbpath', dir, '--port', String(port), '--bind_ip', '127.0.0.1'], dir };
  }
  const ferretdb = await ensureFerretDb(progress);
  const dir = path.join(dataDir, 'ferretdb');
  return {
    cmd: ferretdb,
    args: [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      `--state-dir=${dir}`,
      '--debug-addr=-', // else every instance tries to bind 127.0.0.1:8088
      '--telemetry=disable', // else it tries to reach the internet
      '--log-level=warn',
    ],
    dir,
  };
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

async function waitUntilListening(child: ChildProcess, port: number, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`local database exited with code ${child.exitCode}; see ${logFile}:\n${tail(logFile)}`);
    }
    if (await accepts(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`local database did not listen on port ${port} within ${READY_TIMEOUT_MS / 1000}s; see ${logFile}`);
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
