/**
 * GET /metrics, for Prometheus. It needs credentials like every other door:
 * its counters (failures by reason, cache results) would otherwise tell a
 * stranger whether the api_key it just tried exists, is disabled or expired.
 * A token whose user has the role Metrics Reader (or System Manager), sent
 * as `Authorization: token key:secret` or as Basic, so Prometheus' own
 * `basic_auth` scrape setting (username = api_key, password = api_secret)
 * works unchanged. Failed attempts count against the same limits.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Services } from '../rpc/spec.js';
import { rpcError } from '../rpc/envelope.js';
import { SYSTEM_MANAGER } from '../store/users.js';
import { admit } from './gate.js';
import { SECURITY_HEADERS, TIMED, sendJson, type Response } from './send.js';

export const METRICS_READER = 'Metrics Reader';

const errorBody = (err: AppError) => rpcError(null, err);

export async function serveMetrics(services: Services, log: Logger, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  (res as Response)[TIMED] = { started: performance.now(), metrics: services.metrics };
  const caller = await admit(services.auth, log, req, res, requestId, errorBody);
  if (!caller) return;
  const { roles } = caller;
  if (!roles.includes(METRICS_READER) && !roles.includes(SYSTEM_MANAGER)) {
    return sendJson(res, 403, errorBody(new AppError('permission_denied', `/metrics requires the role ${METRICS_READER} or ${SYSTEM_MANAGER}`)));
  }
  const { registry } = services.metrics;
  const text = await registry.metrics();
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': registry.contentType, 'X-Request-Id': requestId });
  res.end(text);
}
