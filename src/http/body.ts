import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import { sendJson } from './send.js';

/**
 * Reads the whole body as UTF-8; undefined when there is none to serve: the
 * client went away (or was cut off by a timeout) before sending all of it,
 * or sent more than `limit` bytes, answered here with 413 and the door's
 * error body.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  log: Logger,
  requestId: string,
  errorBody: (err: AppError) => unknown,
): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.resolve(tooLarge(res, log, requestId, errorBody));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    /** Answered (413) or given up on: what the socket does next is no news. */
    let settled = false;
    // A client that hangs up mid-upload (or is cut off by a timeout) is
    // routine, not a fault of ours: one info line, no stack. Node reports it
    // as an 'error' and then a 'close'.
    const abandoned = (code: string | undefined) => {
      if (settled) return;
      settled = true;
      log.info({ req_id: requestId, outcome: 'body_incomplete', code }, 'request body not received: the client went away or was cut off');
      resolve(undefined);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        settled = true;
        resolve(tooLarge(res, log, requestId, errorBody));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8')));
    req.on('error', (err: NodeJS.ErrnoException) => abandoned(err.code));
    // Without this the promise would wait forever for a body that never comes.
    req.on('close', () => {
      if (!req.complete) abandoned(undefined);
    });
  });
}

function tooLarge(res: ServerResponse, log: Logger, requestId: string, errorBody: (err: AppError) => unknown): undefined {
  log.info({ req_id: requestId, outcome: 'body_too_large' }, 'request refused');
  res.setHeader('Connection', 'close');
  sendJson(res, 413, errorBody(new AppError('invalid_request', 'Request body too large')));
  return undefined;
}
