/**
 * The two ways of reading key_events as they are written, for the feed
 * (event-feed.ts), which decides what they mean:
 *
 * - a change stream (replica set or sharded cluster): the server pushes each
 *   new event within milliseconds, answers an empty batch every
 *   MAX_AWAIT_MS when there is none (that is how silence is told from a
 *   dead connection), and resumes after an outage from the last event read,
 *   so none is missed; when it cannot resume, the feed forgets its cache;
 * - polling (a standalone server, or KEY_EVENTS_MODE=poll): every POLL_MS,
 *   one indexed query for events stamped at or after the newest seen, less
 *   OVERLAP_MS.
 *
 * Why the overlap. `at` is the server's clock when the write began, and
 * writes become visible in the order they commit, not the order they
 * began: an event stamped 10:00:00.100 can become visible after one
 * stamped .105 was read. Reading from "newest seen" would skip it for ever.
 * Re-reading the last OVERLAP_MS each time, and skipping by _id what was
 * seen, loses only a write that took longer than OVERLAP_MS from its stamp
 * to its commit (a single-document upsert takes milliseconds). An
 * increasing counter instead would need a second write per event (or a
 * transaction) to allocate it, and would have the same visibility gap; the
 * oplog's own timestamps are what change streams use, and are not readable
 * on a standalone server.
 */
import { MongoServerError, type ObjectId, type ResumeToken } from 'mongodb';
import type { KeyEventDoc, KeyEvents } from '../store/key-events.js';

export const POLL_MS = 250;
export const MAX_AWAIT_MS = 250;
export const OVERLAP_MS = 2000;

/** What a reader reports to the feed. */
export interface ReaderSink {
  /** True once the feed stopped: the reader returns. */
  stopped(): boolean;
  /**
   * A read that began at `startedAt` (this instance's clock) came back:
   * every event written before then has been delivered when `caughtUp`.
   * `fresh`: the reader starts with no memory of what it read before
   * (events written before this point were not, and will not be, delivered).
   */
  heard(startedAt: number, caughtUp: boolean, fresh?: boolean): void;
  receive(event: KeyEventDoc): void;
  failed(err: unknown): void;
  /** Waits `ms`, or less if the feed stops. */
  pause(ms: number): Promise<void>;
}

/** How long to wait before opening a failed stream again. */
export const RETRY_MS = 2 * POLL_MS;

/**
 * Follows the change stream until the feed stops. Returns 'unsupported'
 * when the server refuses to open one at all (so the feed may poll instead).
 * `onStream` is told of each stream opened, so the feed can close it when it stops.
 */
export async function followChangeStream(
  events: KeyEvents,
  sink: ReaderSink,
  onStream: (close: () => Promise<void>) => void,
): Promise<'stopped' | 'unsupported'> {
  let token: ResumeToken = undefined;
  /** Whether any stream ever opened: a server that refuses the first one does not do change streams. */
  const ever = { opened: false };
  while (!sink.stopped()) {
    const stream = events.watch(token, MAX_AWAIT_MS);
    onStream(() => stream.close());
    // A new stream (no token to resume from) delivers what is written after
    // its opening aggregate is answered, and nothing before: the feed must
    // hear that it starts afresh, once, as soon as it is open (the server's
    // first resume token says so, without waiting for the first getMore).
    let fresh = token === undefined;
    const opening = () => {
      if (!fresh) return;
      fresh = false;
      ever.opened = true;
      sink.heard(Date.now(), true, true);
    };
    if (fresh) stream.once('resumeTokenChanged', opening);
    try {
      for (;;) {
        const started = Date.now();
        const change = await stream.tryNext();
        if (sink.stopped()) break;
        // Ended by the server (the collection or database dropped): a stream
        // that cannot be resumed. Start a new one, the cache forgotten.
        if (stream.closed) throw new ChangeStreamEnded();
        opening(); // in case the server sent no resume token with its first answer
        token = stream.resumeToken ?? token;
        sink.heard(started, !change);
        if (change) sink.receive(change.fullDocument);
      }
    } catch (err) {
      if (sink.stopped()) break;
      // The server answered, and refused: resuming from this token will not
      // work (history gone, or a token it cannot read). Start afresh; the
      // feed forgets its cache when the new stream opens.
      sink.failed(err);
      if (err instanceof ChangeStreamEnded) token = undefined;
      if (err instanceof MongoServerError) {
        if (!ever.opened) return 'unsupported';
        token = undefined;
      }
      await sink.pause(RETRY_MS);
    } finally {
      await stream.close().catch(() => {});
    }
  }
  return 'stopped';
}

class ChangeStreamEnded extends Error {
  override message = 'the change stream was ended by the server (key_events or its database dropped)';
}

/** Polls until the feed stops. */
export async function followPolls(events: KeyEvents, sink: ReaderSink): Promise<void> {
  /** Newest `at` seen (ms, the server's clock); undefined until the first poll. */
  let newest: number | null | undefined;
  /** Events seen within OVERLAP_MS of the newest, by _id: re-read each time, delivered once. */
  const seen = new Map<string, number>();
  while (!sink.stopped()) {
    const started = Date.now();
    try {
      // The first poll only learns where the events stand: what was written
      // before the feed began is not delivered (the feed starts from an empty cache).
      const fresh = newest === undefined;
      if (fresh) newest = (await events.latest())?.getTime() ?? null;
      for await (const event of events.from(newest === null ? null : new Date(newest! - OVERLAP_MS))) {
        if (!remember(seen, event._id, event.at)) continue;
        newest = Math.max(newest ?? 0, event.at.getTime());
        if (!fresh) sink.receive(event);
      }
      for (const [id, at] of seen) if (at < newest! - OVERLAP_MS) seen.delete(id);
      sink.heard(started, true, fresh);
    } catch (err) {
      if (sink.stopped()) break;
      sink.failed(err);
    }
    await sink.pause(POLL_MS);
  }
}

/** False when the event was seen before. */
function remember(seen: Map<string, number>, id: ObjectId, at: Date): boolean {
  const key = id.toHexString();
  if (seen.has(key)) return false;
  seen.set(key, at.getTime());
  return true;
}
