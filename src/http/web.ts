// PLACEHOLDER: helper D replaces this file with the real web page door.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Serves the web page and its assets under /app. */
export async function serveWebApp(_req: IncomingMessage, res: ServerResponse, _path: string): Promise<void> {
  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not built yet');
}
