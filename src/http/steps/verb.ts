/**
 * Step 4, verb: a verb the route does not answer is refused with 405 and
 * Allow. On the REST door a method that changes anything answers only POST,
 * but that is decided per method, once the method is known (doors/frappe.ts).
 */
import { AppError } from '../../errors.js';
import type { Step } from '../exchange.js';

export const verb: Step = (x) => {
  const given = x.req.method ?? 'GET';
  if (x.allow.includes(given)) return true;
  const allow = x.allow.join(', ');
  x.res.setHeader('Allow', allow);
  throw new AppError('method_not_allowed', `Method ${given} not allowed here: use ${allow}`);
};
