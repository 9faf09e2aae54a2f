/**
 * Structured JSON logs (pino: fast, JSON by default, the Node ecosystem's
 * standard). We never pass headers or params to the logger; `redact` is the
 * second lock in case someone does.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'api_secret',
  '*.api_secret',
  'token',
  '*.token',
  'params',
  '*.params',
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    { level, base: { service: 'tokenauth' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination,
  );
}
