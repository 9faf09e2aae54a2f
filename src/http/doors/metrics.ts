/**
 * GET /metrics, for Prometheus. It needs credentials like every other door:
 * its counters (failures by reason, cache results) would otherwise tell a
 * stranger whether the api_key it just tried exists, is disabled or expired.
 * A token whose user has the role Metrics Reader (or System Manager), sent
 * as `Authorization: token key:secret` or as Basic, so Prometheus' own
 * `basic_auth` scrape setting (username = api_key, password = api_secret)
 * works unchanged. Failed attempts count against the same limits.
 */
import { AppError, statusOf } from '../../errors.js';
import { rpcError } from '../../rpc/envelope.js';
import type { Metrics } from '../../metrics.js';
import { SYSTEM_MANAGER } from '../../store/users.js';
import { SECURITY_HEADERS } from '../headers.js';
import { scopesAllow } from '../../auth/scopes.js';
import type { Door, Exchange } from '../exchange.js';

export const METRICS_READER = 'Metrics Reader';
/** The scope that lets a scoped token read /metrics. */
export const METRICS_SCOPE = 'metrics';

export function metricsDoor(metrics: Metrics): Door {
  return {
    name: 'metrics',
    readsBody: false,
    status: (err) => statusOf(err.kind),
    errorBody: (_x, err) => rpcError(null, err),
    async serve(x: Exchange) {
      const { roles } = x.caller;
      if (!roles.includes(METRICS_READER) && !roles.includes(SYSTEM_MANAGER)) {
        throw new AppError('permission_denied', `/metrics requires the role ${METRICS_READER} or ${SYSTEM_MANAGER}`);
      }
      // A scoped token reads /metrics only when a scope says so (`metrics`, or `*`), as for a method.
      if (!scopesAllow(x.caller.scopes, METRICS_SCOPE)) throw new AppError('permission_denied', `this token's scopes do not include ${METRICS_SCOPE}`);
      const { registry } = metrics;
      const text = await registry.metrics();
      x.res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': registry.contentType, 'X-Request-Id': x.id });
      x.res.end(text);
    },
  };
}
