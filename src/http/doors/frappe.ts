/**
 * Frappe's REST door, so existing Frappe clients work unchanged:
 *
 *   GET|POST /api/method/<dotted.name>      any method of the table, {"message": result}
 *   GET|POST|PUT|DELETE /api/resource/User  the User documents (resource.ts)
 *   GET /?cmd=<name>, POST / with cmd=...   an old client, as /api/method/<cmd>
 *
 * The pipeline has routed (steps/route.ts), checked the token and built the
 * call's context as for the JSON-RPC door; here the request's params are
 * read the way Frappe reads them (params.ts) and the call goes to the same
 * dispatcher (roles, scopes, schemas). Errors carry Frappe's body
 * (frappe-error.ts) and Frappe's status for their kind; a cmd that names
 * no method (frappe.client.delete is none here) gets 404 with `exc`, so
 * frappe-client raises instead of reporting success.
 *
 * A method that changes anything answers only POST: Frappe whitelists
 * generate_keys for POST only (is_valid_http_method in frappe/handler.py
 * refuses other verbs with PermissionError), and browsers resend cached Basic
 * credentials on a plain link, so a GET must never change state.
 */
import { AppError, frappeStatusOf, type ParamProblem } from '../../errors.js';
import type { Dispatcher } from '../../rpc/dispatch.js';
import type { CallContext, MethodSpec } from '../../rpc/spec.js';
import { echoable } from '../echo.js';
import { frappeError } from '../frappe-error.js';
import { Coercer, readInput, type Input } from '../params.js';
import { DOCTYPE, createPlan, deletePlan, listPlan, readPlan, updatePlan, type Plan } from '../resource.js';
import type { Door, Exchange, Route } from '../exchange.js';
import { methodName } from '../steps/route.js';

/** A doctype worth echoing in "DocType X not found" (and holding no secret: echoable). */
const DOCTYPE_NAME = /^[A-Za-z][A-Za-z0-9 _-]{0,60}$/;

export function frappeDoor(dispatcher: Dispatcher): Door {
  const specs: ReadonlyMap<string, MethodSpec> = new Map(dispatcher.methods.map((m) => [m.name, m]));
  const coercer = new Coercer(dispatcher.schemas);

  /** A call, its errors' paths under the names the client sent (`renames`). */
  const invoke = async (name: string, params: Record<string, unknown>, ctx: CallContext, renames?: ReadonlyMap<string, string>) => {
    try {
      return await dispatcher.invoke(name, params, ctx);
    } catch (err) {
      throw renames ? renamePaths(err as AppError, renames) : err;
    }
  };

  const method = (name: string, verb: string, input: Input, ctx: CallContext) => {
    const spec = specs.get(name);
    if (!spec) {
      // A cmd sent in a form is no part of the URL, so nothing refused it before: never echoed when it holds a secret.
      const shown = echoable(name);
      throw new AppError('method_not_found', shown ? `Method not found: ${shown}` : 'Method not found');
    }
    if (verb !== 'POST' && !spec.readOnly) {
      dispatcher.refused(name, ctx, 'permission_denied');
      throw new AppError('permission_denied', `${name} changes data, so it answers only POST: send the same request as a POST`);
    }
    return invoke(name, coercer.params(name, input), ctx);
  };

  const plan = (route: Exclude<Route, { kind: 'method' }>, verb: string, input: Input): Plan => {
    if (route.doctype !== DOCTYPE) {
      const shown = DOCTYPE_NAME.test(route.doctype) && echoable(route.doctype) ? `DocType ${route.doctype} not found` : 'DocType not found';
      throw new AppError('not_found', `${shown}: this service holds only ${DOCTYPE}`);
    }
    if (route.kind === 'collection') return verb === 'GET' ? listPlan(input, coercer) : createPlan(input, coercer);
    if (verb === 'GET') return readPlan(route.name, input, coercer);
    if (verb === 'PUT') return updatePlan(route.name, input, coercer);
    return deletePlan(route.name, input, coercer);
  };

  return {
    name: 'rest',
    readsBody: true,
    status: (err) => frappeStatusOf(err.kind),
    errorBody: (_x, err) => frappeError(err),
    async serve(x: Exchange) {
      const route = x.route!;
      const verb = x.req.method ?? 'GET';
      const input = readInput(x.req, x.query, x.body);
      if (route.kind === 'method') {
        const name = route.cmd ? methodName(input.cmd ?? '') : route.name;
        return x.json(200, { message: await method(name, verb, input, x.ctx) });
      }
      const p = plan(route, verb, input);
      const result = await invoke(p.method, p.params, x.ctx, p.renames);
      x.json(p.status, p.reply(result));
    },
  };
}

/** Error paths under the names the client sent (limit_start, not start). */
function renamePaths(err: AppError, renames: ReadonlyMap<string, string>): AppError {
  if (err.kind !== 'invalid_params' || !Array.isArray(err.data)) return err;
  const data = (err.data as ParamProblem[]).map((p) => {
    const m = /^\/([^/]+)(.*)$/.exec(p.path);
    const theirs = m ? renames.get(m[1]!) : undefined;
    return theirs !== undefined && theirs !== m![1] ? { ...p, path: `/${theirs}${m![2]}` } : p;
  });
  return new AppError(err.kind, err.message, data);
}
