import fs from 'node:fs';
import path from 'node:path';

/** Every executable called `name` on PATH, in PATH order. */
export function whichAll(name: string): string[] {
  const found: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) found.push(candidate);
    } catch {
      // not here
    }
  }
  return found;
}
