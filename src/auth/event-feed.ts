/**
 * Following the changes other instances make (key_events, written by the
 * stores after each change: see src/store/key-events.ts), so this
 * instance's token cache never trusts a credential changed elsewhere:
 *
 * - an event names a key or a user: its cached entries are dropped, and the
 *   next check reads them again; events this process wrote are skipped (its
 *   cache heard of them first, before the write's call was answered);
 * - while the feed cannot read events (an error, or no answer for
 *   SILENCE_MS) it is down: the cache trusts an entry only for
 *   KEY_EVENTS_STALE_MS after reading it, so a change made meanwhile takes
 *   effect within that bound, at the price of more lookups;
 * - when it comes back it catches up on what it missed (the change stream
 *   resumes, the poller reads on from the newest event it saw) before the
 *   cache is trusted again; when it cannot (a new stream, or down longer
 *   than the events are kept, less the pollers' overlap) it forgets the
 *   whole cache instead.
 *
 * The reading itself (change stream or polling, and why polling re-reads
 * an overlap) is in event-readers.ts. Every instance also deletes events
 * older than KEY_EVENTS_RETENTION_MS, a fifth of that period apart (at most
 * a minute): idempotent, so many instances doing it is harmless.
 */
import type { ObjectId } from 'mongodb';
import type { KeyEventsMode } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { KeyEventDoc, KeyEvents } from '../store/key-events.js';
import { OVERLAP_MS, POLL_MS, RETRY_MS, followChangeStream, followPolls, type ReaderSink } from './event-readers.js';

export type FeedState = 'change_stream' | 'poll' | 'down';

/** No answer from the feed for this long and it is down, though no error said so (a hung connection). */
export const SILENCE_MS = 3000;

export interface FeedOptions {
  mode: KeyEventsMode;
  /** KEY_EVENTS_RETENTION_MS: how long events are kept. */
  retentionMs: number;
}

/** What the feed acts on: the token cache, and the limits for blocked clients. */
export interface FeedTarget {
  dropKey(apiKey: string): void;
  dropUser(userId: ObjectId): void;
  /** Events may have been missed: forget every cached entry. */
  clear(): void;
  /** The feed is up (and caught up), or down. */
  trusted(up: boolean): void;
  clientBlocked(client: string, until: Date): void;
}

export class EventFeed implements ReaderSink {
  private halted = false;
  private mode: 'change_stream' | 'poll' | undefined;
  private up = false;
  /** When the last read that came back began (this instance's clock). */
  private lastHeard = 0;
  /** lastHeard when the feed went down: the gap to catch up on. */
  private downFrom = 0;
  /** False until the feed is up with nothing missed: at start, and after its memory of what it read is lost. */
  private continuous = false;
  private saidDown = false;
  private closeStream: (() => Promise<void>) | undefined;
  private wake: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly firstUp: Promise<void>;
  private resolveFirstUp!: () => void;

  constructor(
    private readonly events: KeyEvents,
    private readonly target: FeedTarget,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: FeedOptions,
  ) {
    this.firstUp = new Promise((resolve) => (this.resolveFirstUp = resolve));
  }

  stopped(): boolean {
    return this.halted;
  }

  /** 'change_stream' or 'poll' while following, 'down' while not. */
  get state(): FeedState {
    return this.up && this.mode ? this.mode : 'down';
  }

  /**
   * Starts following; resolves once the feed is up, or after `waitMs`
   * (then it goes on trying, and the cache trusts entries only briefly).
   */
  async start(waitMs: number): Promise<void> {
    this.target.trusted(false);
    this.metrics.keyEventsFeed(this.opts.mode, false);
    // Timers never keep the process alive: the HTTP server does, until it closes.
    this.timers.push(setInterval(() => this.watchdog(), POLL_MS).unref());
    const pruneEvery = Math.min(60_000, Math.max(1000, this.opts.retentionMs / 5));
    this.timers.push(setInterval(() => void this.prune(), pruneEvery).unref());
    void this.run();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.firstUp, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs).unref()))]);
    clearTimeout(timer);
    if (!this.up) this.failed(new Error(`not up ${waitMs} ms after start`));
  }

  async stop(): Promise<void> {
    this.halted = true;
    for (const t of this.timers) clearInterval(t);
    this.wake?.();
    await this.closeStream?.().catch(() => {});
  }

  private async run(): Promise<void> {
    while (!this.halted) {
      try {
        this.mode ??= await this.chooseMode();
        if (this.mode === 'poll') return await followPolls(this.events, this);
        const ended = await followChangeStream(this.events, this, (close) => (this.closeStream = close));
        if (ended === 'stopped') return;
        // The server will not open a change stream (not a replica set, or not allowed).
        if (this.opts.mode === 'auto') {
          this.log.warn({ key_events: 'poll' }, 'key events: the database refused a change stream; polling instead');
          this.mode = 'poll';
          this.continuous = false;
        }
      } catch (err) {
        this.failed(err); // choosing the mode needs the database
      }
      await this.pause(RETRY_MS);
    }
  }

  private async chooseMode(): Promise<'change_stream' | 'poll'> {
    if (this.opts.mode !== 'auto') return this.opts.mode;
    return (await this.events.changeStreamsPossible()) ? 'change_stream' : 'poll';
  }

  heard(startedAt: number, caughtUp: boolean, fresh = false): void {
    if (fresh) this.continuous = false;
    this.lastHeard = Math.max(this.lastHeard, startedAt);
    if (this.up || !caughtUp || this.halted) return;
    // Events older than the retention, less the pollers' overlap, may be gone unread.
    const gap = this.lastHeard - this.downFrom;
    if (!this.continuous || gap > this.opts.retentionMs - 2 * OVERLAP_MS) {
      this.target.clear();
      this.continuous = true;
    }
    this.up = true;
    this.target.trusted(true);
    this.metrics.keyEventsFeed(this.mode!, true);
    if (this.saidDown) this.log.info({ key_events: this.mode }, 'key events: following again; cached tokens are trusted for their TTL');
    else this.log.info({ key_events: this.mode }, 'key events: following changes made by other instances');
    this.saidDown = false;
    this.resolveFirstUp();
  }

  receive(event: KeyEventDoc): void {
    this.metrics.eventPropagation((Date.now() - event.at.getTime()) / 1000);
    if (this.events.recordedHere(event._id)) return;
    if (event.kind === 'client_blocked') {
      if (event.client !== undefined && event.until) this.target.clientBlocked(event.client, event.until);
    } else if (event.kind === 'key' && event.api_key !== undefined) {
      this.target.dropKey(event.api_key);
    } else if (event.user_id) {
      // 'user', a 'key' event naming no key, or a kind this version does not know of.
      this.target.dropUser(event.user_id);
    }
  }

  failed(err: unknown): void {
    if (this.halted) return;
    if (this.up) {
      this.up = false;
      this.downFrom = this.lastHeard;
      this.target.trusted(false);
      this.metrics.keyEventsFeed(this.mode ?? this.opts.mode, false);
    }
    if (this.saidDown) {
      this.log.debug({ err, key_events: 'down' }, 'key events: still down');
      return;
    }
    this.saidDown = true;
    this.log.warn(
      { err, key_events: 'down' },
      'key events: cannot follow changes made by other instances; cached tokens are read again when older than KEY_EVENTS_STALE_MS',
    );
  }

  pause(ms: number): Promise<void> {
    if (this.halted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms).unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private watchdog(): void {
    if (this.up && Date.now() - this.lastHeard > SILENCE_MS) this.failed(new Error(`no answer for ${SILENCE_MS} ms`));
  }

  private async prune(): Promise<void> {
    try {
      const removed = await this.events.prune(this.opts.retentionMs);
      if (removed > 0) this.log.debug({ removed }, 'key events: old events removed');
    } catch (err) {
      this.log.debug({ err }, 'key events: removing old events failed; trying again later');
    }
  }
}
