/**
 * Step 6, old client: a form with `cmd=<method>` posted to / goes to the
 * REST door, not the JSON-RPC one.
 *
 * Old Frappe clients name the method in a `cmd` param sent to the site's
 * root: frappe-client's delete, set_value, rename_doc and insert_many POST a
 * form with cmd=<method> to /, get_value GETs /?cmd=<method> (route.ts sends
 * that one to the REST door already). Frappe's application() (frappe/app.py)
 * hands any request whose form_dict has a cmd to frappe.handler.handle,
 * which is what /api/method/<cmd> runs too; so the REST door serves it as
 * /api/method/<cmd>, with cmd dropped. JSON bodies on / stay JSON-RPC:
 * `curl -d '{"jsonrpc": ...}'` sends JSON with a form content type.
 */
import type { Door, Step } from '../exchange.js';
import { ROOT, toRest } from './route.js';

/** A form that is not JSON text and carries a cmd (post_request). */
export function oldClientForm(contentType: string | undefined, body: string): boolean {
  if (!contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) return false;
  const first = body.trimStart()[0];
  // Only a form that names a method: an empty or other body stays JSON-RPC (-32700/-32600 as before).
  return first !== '{' && first !== '[' && new URLSearchParams(body).has('cmd');
}

export function oldClient(jsonrpc: Door, rest: Door): Step {
  return (x) => {
    if (x.door === jsonrpc && x.path === '/' && oldClientForm(x.req.headers['content-type'], x.body)) toRest(x, rest, ROOT);
    return true;
  };
}
