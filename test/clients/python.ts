/**
 * The Python clients' virtual environment (.venv-clients/, made by
 * scripts/client-venv.sh, which .ci/run runs too) and a way to drive them.
 * A developer's `npm test` without the folder makes it here, the same way,
 * rather than skipping: it needs python3 and PyPI, once.
 */
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

let python: string | undefined;

/** The venv's interpreter; creates the venv when it is missing or broken (the script decides, quickly when it is fine). */
export function clientPython(): string {
  if (python) return python;
  const out = execFileSync('bash', [path.join(ROOT, 'scripts/client-venv.sh')], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 600_000,
  });
  const last = out.trim().split('\n').at(-1)!;
  return (python = path.resolve(ROOT, last));
}

/** Runs test/clients/<script> with the venv's python, `input` as JSON on stdin; its stdout parsed as JSON. */
export function runPython<T>(script: string, input: unknown, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = execFile(clientPython(), [path.join(ROOT, 'test/clients', script)], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${script} failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`${script} did not print JSON:\n${stdout}\n${stderr}`));
      }
    });
    child.stdin!.end(JSON.stringify(input));
  });
}
