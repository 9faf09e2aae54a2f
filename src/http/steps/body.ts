/**
 * Step 5, body: the whole body as UTF-8 text, at most `limit` bytes
 * (MAX_BODY_BYTES). More is refused with 413 (body_too_large) and the
 * connection is closed, before any of it is parsed. A client that hangs up
 * mid-upload, or is cut off by a timeout, is routine, not a fault of ours:
 * one info line, no stack, and no answer.
 */
import { AppError } from '../../errors.js';
import type { Exchange, Step } from '../exchange.js';

export function body(limit: number): Step {
  return (x) => (x.door.readsBody ? read(x, limit) : true);
}

function read(x: Exchange, limit: number): boolean | Promise<boolean> {
  const { req } = x;
  if (Number(req.headers['content-length']) > limit) tooLarge(x);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    /** Refused (413) or given up on: what the socket does next is no news. */
    let settled = false;
    const abandoned = (code: string | undefined) => {
      if (settled) return;
      settled = true;
      x.log.info({ req_id: x.id, outcome: 'body_incomplete', code }, 'request body not received: the client went away or was cut off');
      resolve(false);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        settled = true;
        try {
          tooLarge(x);
        } catch (err) {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what tooLarge threw (its AppError) unchanged
          reject(err);
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      x.body = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
      resolve(true);
    });
    // Node reports a client gone mid-upload as an 'error' and then a 'close'.
    req.on('error', (err: NodeJS.ErrnoException) => abandoned(err.code));
    // Without this the promise would wait forever for a body that never comes.
    req.on('close', () => {
      if (!req.complete) abandoned(undefined);
    });
  });
}

function tooLarge(x: Exchange): never {
  x.log.info({ req_id: x.id, outcome: 'body_too_large' }, 'request refused');
  x.res.setHeader('Connection', 'close');
  throw new AppError('body_too_large');
}
