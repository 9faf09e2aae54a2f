/**
 * Installs secantusdb (a MongoDB-compatible server on WiredTiger, from PyPI)
 * into a Python virtual environment in a per-user cache outside the clone,
 * so every clone shares one install, made once.
 *
 * Why secantusdb: it keeps MongoDB's promises where our code depends on them
 * (atomic single-document updates under concurrency, unique indexes, update
 * pipelines), and as a single-node replica set it has change streams and
 * transactions. FerretDB 1.24, the engine before it, lost concurrent updates
 * to one document.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { whichAll } from './which.js';

export const SECANTUSDB_VERSION = '0.7.0b3';
/** Its wheel is built for CPython 3.11 only (manylinux x86_64); there is no source release. */
const PYTHON_VERSION = '3.11';
/** The whole dependency tree, pinned, so every machine runs the same server. */
const REQUIREMENTS = [
  `secantusdb==${SECANTUSDB_VERSION}`,
  'dnspython==2.9.2',
  'future==1.0.0',
  'numpy==2.4.6',
  'pymongo==4.20.1',
  'python-dateutil==4.0.0',
  's2sphere==0.2.5',
  'shapely==2.2.0',
  'tzdata==2026.6',
];

/** Runs the server's own entry point (`secantusd-py`) through the venv's python: see ensureSecantusDb. */
export const SERVER_MAIN = 'import sys; from secantus.cli import main; sys.argv[0] = "secantusd-py"; sys.exit(main())';

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  // A change of pins gets a new folder, never a half-upgraded one.
  const pins = crypto.createHash('sha256').update(REQUIREMENTS.join('\n')).digest('hex').slice(0, 8);
  return path.join(base, 'tokenauth', `secantusdb-${SECANTUSDB_VERSION}-py${PYTHON_VERSION.replace('.', '')}-${pins}`);
}

/** The venv's python, or undefined when it is not installed yet. */
export function installedPython(): string | undefined {
  const python = path.join(cacheDir(), 'bin', 'python');
  return fs.existsSync(python) ? python : undefined; // follows the symlink: a removed base python reads as missing
}

/** Why secantusdb cannot be installed here, or undefined when it can (or is). */
export async function unavailableReason(): Promise<string | undefined> {
  if (installedPython()) return undefined;
  const found = await findPython();
  return found.python ? undefined : found.reason;
}

/**
 * Returns the venv's python, installing on first use. The install happens in
 * a private folder renamed into place only when complete, so two first runs
 * at once never see half an install: the one that renames second throws its
 * copy away. (A venv survives the rename: its python finds pyvenv.cfg beside
 * itself; only the console scripts' #! lines name the old path, so they are
 * not used.)
 */
export async function ensureSecantusDb(progress: (line: string) => void): Promise<string> {
  const existing = installedPython();
  if (existing) return existing;
  const final = cacheDir();
  const found = await findPython();
  if (!found.python) throw new Error(found.reason);
  fs.mkdirSync(path.dirname(final), { recursive: true });
  const staging = fs.mkdtempSync(`${final}.installing-`);
  const started = Date.now();
  progress(`Installing secantusdb ${SECANTUSDB_VERSION} from PyPI into ${final} (first use only, about a minute)...`);
  const timer = setInterval(() => progress(`  still installing secantusdb... ${Math.round((Date.now() - started) / 1000)}s`), 15_000);
  try {
    const venvPython = path.join(staging, 'bin', 'python');
    const pipArgs = ['install', '--no-input', '--disable-pip-version-check', '--quiet', ...REQUIREMENTS];
    try {
      await run(found.python, ['-m', 'venv', staging]);
      await run(venvPython, ['-m', 'pip', ...pipArgs]);
    } catch (err) {
      // Debian's python3 without python3-venv has no ensurepip: make the venv
      // bare, and install into it with the base python's own pip if it has one.
      if (!String(err).includes('ensurepip')) throw err;
      fs.rmSync(staging, { recursive: true, force: true });
      await run(found.python, ['-m', 'venv', '--without-pip', staging]);
      await run(found.python, ['-m', 'pip', '--python', venvPython, ...pipArgs]).catch((pipErr: unknown) => {
        throw new Error(
          `${found.python} can make no virtual environment with pip (no ensurepip) and has no pip of its own; ` +
            `on Debian or Ubuntu: apt-get install python3-venv\n${String(pipErr)}`,
        );
      });
    }
    await run(venvPython, ['-I', '-c', 'import secantus.cli']); // publish only an install that imports
    try {
      fs.renameSync(staging, final);
    } catch {
      // Another first run finished before us: use its install. Else the folder
      // there has no working python (its base python was removed): set it aside.
      if (!installedPython()) {
        fs.renameSync(final, `${staging}-broken`);
        fs.renameSync(staging, final);
      }
    }
    progress(`Installed secantusdb ${SECANTUSDB_VERSION} in ${Math.round((Date.now() - started) / 1000)}s: ${final}`);
    return path.join(final, 'bin', 'python');
  } finally {
    clearInterval(timer);
    fs.rmSync(staging, { recursive: true, force: true });
    fs.rmSync(`${staging}-broken`, { recursive: true, force: true });
  }
}

let pythonSearch: Promise<{ python?: string; reason: string }> | undefined;

/** A CPython 3.11 on PATH (python3.11 first, then python3), asked its version rather than trusted by name. */
function findPython(): Promise<{ python?: string; reason: string }> {
  pythonSearch ??= (async () => {
    const seen: string[] = [];
    // Every one on PATH: a pyenv shim may stand before a working one, for a version it does not have.
    for (const candidate of [...whichAll(`python${PYTHON_VERSION}`), ...whichAll('python3')]) {
      const version = await run(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']).catch(() => '');
      if (version.trim() === PYTHON_VERSION) return { python: candidate, reason: '' };
      seen.push(`${candidate} (${version.trim() || 'does not run'})`);
    }
    return {
      reason:
        `The local database (secantusdb ${SECANTUSDB_VERSION}, installed from PyPI on first use) needs CPython ${PYTHON_VERSION} ` +
        `(python${PYTHON_VERSION} or python3 on PATH), the only Python its wheel is built for; ` +
        `found ${seen.join(', ') || 'none'}. Install Python ${PYTHON_VERSION}, or set MONGODB_URI to a MongoDB server.`,
    };
  })();
  return pythonSearch;
}

/** Runs a command; resolves with its stdout, rejects with its output's end. */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PIP_NO_INPUT: '1' } });
    let output = '';
    let errors = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${(output + errors).slice(-4000)}`)),
    );
  });
}
