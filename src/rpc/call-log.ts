/**
 * One line and one counter per call, the same on every door (the dispatcher
 * keeps one per method and door): built once, from a logger that names the
 * door, so a call pays for no child logger and no label lookup when it succeeds.
 */
import { performance } from 'node:perf_hooks';
import { toAppError, type AppError, type ErrorKind } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import type { CallContext, DoorName, MethodSpec } from './spec.js';

export interface CallLog {
  /** The call returned; `started` is when it began (performance.now()). */
  ok(ctx: CallContext, started: number): void;
  /** The call threw: counted and logged, and returned as the error to report. */
  failed(ctx: CallContext, err: unknown, started: number): AppError;
  /** The door refused the call before it ran. */
  refused(ctx: CallContext, kind: ErrorKind): void;
  /**
   * The door did not run the call, one of many in a request (a batch past its
   * budget): counted here, logged by the door once for them all, so a batch
   * of a hundred cannot make a hundred log lines.
   */
  skipped(kind: ErrorKind): void;
}

export function callLog({ name, readOnly }: Pick<MethodSpec, 'name' | 'readOnly'>, door: DoorName, metrics: Metrics, log: Logger): CallLog {
  // Reads that succeed are counted in metrics and logged at debug: a busy
  // verifier would otherwise write a line per request. Changes and failures at info.
  const logOk = readOnly ? log.debug.bind(log) : log.info.bind(log);
  const logsOk = log.isLevelEnabled(readOnly ? 'debug' : 'info');
  const okCount = metrics.callCounter(name, door, 'ok');
  const record = (ctx: CallContext, outcome: string, ms: number, err?: unknown) => {
    metrics.callCounter(name, door, outcome).inc();
    const line = { req_id: ctx.requestId, user: ctx.caller.user, method: name, outcome, ms };
    if (err === undefined) log.info(line, 'call');
    else log.error({ ...line, err }, 'call failed');
  };
  return {
    ok(ctx, started) {
      okCount.inc();
      if (logsOk) logOk({ req_id: ctx.requestId, user: ctx.caller.user, method: name, outcome: 'ok', ms: elapsed(started) }, 'call');
    },
    failed(ctx, err, started) {
      const appErr = toAppError(err);
      // Only what nobody meant to happen carries its error (and stack) into the log.
      const unexpected = appErr.kind === 'internal' || appErr.kind === 'storage_unavailable';
      record(ctx, appErr.kind, elapsed(started), unexpected ? err : undefined);
      return appErr;
    },
    refused(ctx, kind) {
      record(ctx, kind, 0);
    },
    skipped(kind) {
      metrics.callCounter(name, door, kind).inc();
    },
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
