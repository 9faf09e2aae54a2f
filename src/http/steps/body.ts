/**
 * Step 5, body: the whole body as UTF-8 text, at most `limit` bytes
 * (MAX_BODY_BYTES, or the door's own smaller limit). More is refused with 413 (body_too_large) and the
 * connection is closed, before any of it is parsed. A client that hangs up
 * mid-upload, or is cut off by a timeout, is routine, not a fault of ours:
 * one info line, no stack, and no answer.
 *
 * Bodies being read are held in memory, so what they may hold together is
 * bounded too (found by an outside attacker: 1,500 connections from one
 * address, each holding 900 KB of an unfinished body, took 1.4 GB): per
 * client address, an IPv6 one by its /64 (MAX_BODY_BYTES_PER_CLIENT, past it 429) and for all
 * clients (MAX_BODY_BYTES_IN_FLIGHT, past it 503). Either way the request is
 * refused at once and its connection closed.
 */
import { AppError } from '../../errors.js';
import type { Exchange, Step } from '../exchange.js';

export interface BodyLimits {
  /** One body (MAX_BODY_BYTES). */
  perRequest: number;
  /** All bodies in flight from one address (MAX_BODY_BYTES_PER_CLIENT). */
  perClient: number;
  /** All bodies in flight (MAX_BODY_BYTES_IN_FLIGHT). */
  inFlight: number;
}

/** Bytes of bodies being read, per client address and in all. */
class InFlight {
  private total = 0;
  private readonly byClient = new Map<string, number>();

  constructor(private readonly limits: BodyLimits) {}

  /** Takes `n` more bytes for `client`, or throws (429 or 503) when a budget would be passed. */
  take(client: string, n: number): void {
    const mine = (this.byClient.get(client) ?? 0) + n;
    if (mine > this.limits.perClient) {
      throw new AppError('rate_limited', 'Too many request bodies in flight from this address', { retry_after: 1 });
    }
    if (this.total + n > this.limits.inFlight) throw new AppError('busy', 'Server busy: too many request bodies in flight', { retry_after: 1 });
    this.byClient.set(client, mine);
    this.total += n;
  }

  release(client: string, n: number): void {
    if (n === 0) return;
    this.total -= n;
    const left = (this.byClient.get(client) ?? 0) - n;
    if (left > 0) this.byClient.set(client, left);
    else this.byClient.delete(client);
  }
}

export function body(limits: BodyLimits): Step {
  const inFlight = new InFlight(limits);
  return (x) => (x.door.readsBody ? read(x, Math.min(limits.perRequest, x.door.maxBodyBytes ?? Infinity), inFlight) : true);
}

function read(x: Exchange, limit: number, inFlight: InFlight): boolean | Promise<boolean> {
  const { req } = x;
  if (Number(req.headers['content-length']) > limit) tooLarge(x);
  const client = x.limitKey;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    /** Refused or given up on: what the socket does next is no news. */
    let settled = false;
    const settle = () => {
      settled = true;
      inFlight.release(client, size);
      req.removeAllListeners('data');
    };
    const abandoned = (code: string | undefined) => {
      if (settled) return;
      settle();
      x.log.info({ req_id: x.id, outcome: 'body_incomplete', code }, 'request body not received: the client went away or was cut off');
      resolve(false);
    };
    const refuse = (err: unknown) => {
      settle();
      x.res.setHeader('Connection', 'close');
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an AppError, passed on as thrown
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (size + chunk.length > limit) {
        try {
          tooLarge(x);
        } catch (err) {
          refuse(err);
        }
        return;
      }
      try {
        inFlight.take(client, chunk.length);
      } catch (err) {
        x.log.info({ req_id: x.id, outcome: (err as AppError).kind, client }, 'request body refused: too many bytes in flight');
        refuse(err);
        return;
      }
      size += chunk.length;
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settle();
      x.bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      x.body = x.bytes.toString('utf8');
      resolve(true);
    });
    // Node reports a client gone mid-upload as an 'error' and then a 'close'.
    req.on('error', (err: NodeJS.ErrnoException) => {
      abandoned(err.code);
    });
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
