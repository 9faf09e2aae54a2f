/**
 * Structured JSON logs (pino: fast, JSON by default, the Node ecosystem's
 * standard). No log call is ever given a header, a param object or a secret:
 * call sites pass named fields only, and test/authentication.test.ts fails if
 * a secret or an Authorization value reaches the log. (pino's `redact` was
 * tried as a second lock and cost a fifth of the hot path's throughput.)
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    { level, base: { service: 'tokenauth', pid: process.pid } },
    // Asynchronous stdout: lines written while a write is in flight go out
    // together, so a busy service does not pay one syscall per call. pino
    // flushes what is pending when the process exits.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
