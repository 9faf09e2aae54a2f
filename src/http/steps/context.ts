/**
 * Step 10, context: what every method receives (spec.ts), labelled with the
 * door, so the dispatcher logs and counts each call under it.
 */
import { callContext, type Services } from '../../rpc/spec.js';
import type { Step } from '../exchange.js';

export function context(services: Services): Step {
  return (x) => {
    x.ctx = callContext(x.caller, x.id, x.address, x.log, services, x.door.name);
    return true;
  };
}
