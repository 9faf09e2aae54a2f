/**
 * Step 9, ip-allowlist: a key that carries an ip_allowlist works only from
 * the addresses it lists. A call from elsewhere is refused with 403
 * (permission_denied, -32003) on every door, and the message names the
 * address the service saw, so whoever set the list can tell a wrong list
 * from a wrong proxy setting (TRUSTED_PROXIES, client-address.ts).
 *
 * Only a right secret reaches this step, so a refusal here is not a failed
 * guess and is not counted against the failure limits (SECURITY.md says
 * why). It is logged as a warning with the api_key: a right secret used
 * from outside its list is what a leaked token looks like.
 */
import { AppError } from '../../errors.js';
import type { Step } from '../exchange.js';

export const ipAllowlist: Step = (x) => {
  const allowed = x.caller.ipAllowlist;
  if (allowed === null) return true;
  if (allowed.allows(x.address)) return true;
  x.log.warn({ req_id: x.id, outcome: 'ip_not_allowed', api_key: x.caller.apiKey, client: x.address }, 'request refused: the key may not be used from here');
  throw new AppError('permission_denied', `This key may not be used from ${x.address}: the address is outside its ip_allowlist`);
};
