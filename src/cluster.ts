/**
 * WORKERS > 1: node:cluster runs that many copies of the service on one port.
 * Each copy has its own token cache, so a change written through one copy is
 * relayed by the primary to all the others, and the write's caller is
 * answered only after every copy has dropped what it cached (or a second has
 * passed, should one be stuck). Failure counts are shared through the
 * database (auth/guess-limits.ts), like every instance's.
 */
import cluster, { type Worker } from 'node:cluster';
import { ObjectId } from 'mongodb';
import type { Services } from './rpc/spec.js';

const ACK_TIMEOUT_MS = 1000;

interface Changed {
  type: 'tokenauth:changed';
  id: number;
  userId: string;
  apiKey?: string;
}
interface Ack {
  type: 'tokenauth:ack';
  id: number;
}
type Message = Changed | Ack;

function isMessage(m: unknown): m is Message {
  const type = (m as { type?: unknown } | null)?.type;
  return type === 'tokenauth:changed' || type === 'tokenauth:ack';
}

/** In the primary: pass each worker's changes to the others, and acknowledge once they all have. */
export function relayChanges(): void {
  let next = 1;
  const waiting = new Map<number, { left: Set<Worker>; done: () => void }>();
  cluster.on('message', (from, msg: unknown) => {
    if (!isMessage(msg)) return;
    if (msg.type === 'tokenauth:ack') {
      const entry = waiting.get(msg.id);
      entry?.left.delete(from);
      if (entry?.left.size === 0) entry.done();
      return;
    }
    const others = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w !== from && w.isConnected());
    const reply = () => from.isConnected() && from.send({ type: 'tokenauth:ack', id: msg.id } satisfies Ack);
    if (others.length === 0) return void reply();
    const id = next++;
    const timer = setTimeout(() => entry.done(), ACK_TIMEOUT_MS);
    const entry = {
      left: new Set(others),
      done: () => {
        clearTimeout(timer);
        waiting.delete(id);
        reply();
      },
    };
    waiting.set(id, entry);
    for (const w of others) w.send({ ...msg, id } satisfies Changed);
  });
  // A worker that dies owes no acknowledgement.
  cluster.on('exit', (dead) => {
    for (const entry of waiting.values()) {
      entry.left.delete(dead);
      if (entry.left.size === 0) entry.done();
    }
  });
}

/** In a worker: announce this copy's changes, and apply the others'. */
export function shareChanges(services: Services): void {
  if (!cluster.isWorker || !process.send) return;
  let next = 1;
  const pending = new Map<number, () => void>();
  services.storage.onChange(
    (userId, apiKey) =>
      new Promise<void>((resolve) => {
        const id = next++;
        const timer = setTimeout(() => (pending.delete(id), resolve()), ACK_TIMEOUT_MS * 2);
        pending.set(id, () => (clearTimeout(timer), resolve()));
        const msg: Changed = { type: 'tokenauth:changed', id, userId: userId.toHexString() };
        if (apiKey) msg.apiKey = apiKey;
        process.send!(msg);
      }),
  );
  process.on('message', (msg: unknown) => {
    if (!isMessage(msg)) return;
    if (msg.type === 'tokenauth:ack') {
      pending.get(msg.id)?.();
      pending.delete(msg.id);
      return;
    }
    services.auth.forget(new ObjectId(msg.userId), msg.apiKey);
    process.send!({ type: 'tokenauth:ack', id: msg.id } satisfies Ack);
  });
}
