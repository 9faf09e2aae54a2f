/**
 * Frappe's REST door, so existing Frappe clients work unchanged:
 *
 *   GET|POST /api/method/<dotted.name>      any method of the table, {"message": result}
 *   GET|POST|PUT|DELETE /api/resource/User  the User documents (resource.ts)
 *
 * also under /api/v1/ (frappe/api/__init__.py mounts v1 at both prefixes,
 * with strict_slashes off, so a trailing slash is accepted; frappe-client's
 * get_api and post_api send /api/method/<name>/). Same token check as the
 * JSON-RPC door (gate.ts), same dispatcher (roles, scopes, schemas). Errors
 * carry Frappe's body (frappe-error.ts) and the status of ERRORS[kind].http.
 *
 * Old clients name the method in a `cmd` param sent to the site's root:
 * frappe-client's delete, set_value, rename_doc and insert_many POST a form
 * with cmd=<method> to /, get_value GETs /?cmd=<method>. Frappe's
 * application() (frappe/app.py) hands any request whose form_dict has a cmd
 * to frappe.handler.handle, which is what /api/method/<cmd> runs too. So
 * server.ts passes such a request on / here, and it is served as
 * /api/method/<cmd> with cmd dropped: frappe.client.delete is no method here,
 * and its 404 with `exc` makes frappe-client raise instead of reporting
 * success. JSON bodies on / stay JSON-RPC.
 *
 * A method that changes anything answers only POST: Frappe whitelists
 * generate_keys for POST only (is_valid_http_method in frappe/handler.py
 * refuses other verbs with PermissionError), and browsers resend cached Basic
 * credentials on a plain link, so a GET must never change state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { AppError, ERRORS, toAppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Dispatcher } from '../rpc/dispatch.js';
import { callLog, type CallLog } from '../rpc/call-log.js';
import { callContext, type CallContext, type MethodSpec, type Services } from '../rpc/spec.js';
import type { ParamProblem } from '../rpc/schemas.js';
import { readBody } from './body.js';
import type { Cors } from './cors.js';
import { admit, clientAddress } from './gate.js';
import { frappeError } from './frappe-error.js';
import { Coercer, readInput, UnsupportedMediaType, type Input } from './params.js';
import { DOCTYPE, createPlan, deletePlan, listPlan, readPlan, updatePlan, type Plan } from './resource.js';
import { TIMED, sendJson, methodNotAllowed, type Response } from './send.js';

export interface RestDeps {
  services: Services;
  dispatcher: Dispatcher;
  log: Logger;
  maxBodyBytes: number;
}

/** The verbs a route answers. */
type Verbs = readonly string[];
const GET_POST: Verbs = ['GET', 'POST'];
const GET_PUT_DELETE: Verbs = ['GET', 'PUT', 'DELETE'];

type Route =
  /** `cmd`: the name is the request's cmd param (a request to /), not the path's. */
  | { kind: 'method'; name: string; allow: Verbs; cmd?: true }
  | { kind: 'collection'; doctype: string; allow: Verbs }
  | { kind: 'document'; doctype: string; name: string; allow: Verbs };

const PREFIX = /^\/api\/(?:v1\/)?(method|resource)\/([^?]*)$/;
/** A method name as the table spells them; anything else cannot name one, and is never echoed. */
const METHOD_NAME = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/;
/** A doctype worth echoing in "DocType X not found". */
const DOCTYPE_NAME = /^[A-Za-z][A-Za-z0-9 _-]{0,60}$/;
/**
 * A dot segment, an empty segment (// anywhere; one trailing slash is fine),
 * a backslash, or a slash, backslash or dot sent encoded. A proxy or a
 * browser may resolve such a path to another route than the one this door
 * reads (/api/method/x/../../resource/User), so what was allowed or logged
 * in front is not what runs here: refused as not found instead.
 */
const AMBIGUOUS_PATH = /\/\.{1,2}(?:\/|$)|\/\/|\\|%2f|%5c|%2e/i;
/** The route of an old client's request to / (see oldClient). */
const ROOT: Route = { kind: 'method', name: '', allow: GET_POST, cmd: true };

/**
 * Whether a request to / comes from an old Frappe client rather than a
 * JSON-RPC one, so server.ts hands it here: a `cmd` in the query string
 * (get_request), or, once the body is read, a form that is not JSON text
 * and carries a cmd (post_request). `curl -d '{"jsonrpc": ...}'` sends JSON with a form
 * content type; that stays JSON-RPC, as it always was.
 */
export const oldClient = {
  query(url: string): boolean {
    const q = url.indexOf('?');
    return q >= 0 && new URLSearchParams(url.slice(q + 1)).has('cmd');
  },
  body(req: IncomingMessage, body: string): boolean {
    const type = req.headers['content-type'];
    if (type === undefined || !type.toLowerCase().startsWith('application/x-www-form-urlencoded')) return false;
    const first = body.trimStart()[0];
    // Only a form that names a method: an empty or other body stays JSON-RPC (-32700/-32600 as before).
    return first !== '{' && first !== '[' && new URLSearchParams(body).has('cmd');
  },
};

export class RestDoor {
  private readonly specs: ReadonlyMap<string, MethodSpec>;
  private readonly calls: ReadonlyMap<string, CallLog>;
  private readonly coercer: Coercer;

  constructor(
    private readonly deps: RestDeps,
    private readonly cors: Cors,
  ) {
    const { dispatcher, services, log } = deps;
    this.specs = new Map(dispatcher.methods.map((m) => [m.name, m]));
    // Counted and logged as the JSON-RPC door's calls are, each line marked as this door's.
    const restLog = log.child({ door: 'rest' });
    this.calls = new Map(dispatcher.methods.map((m) => [m.name, callLog(m, services.metrics, restLog)]));
    this.coercer = new Coercer(dispatcher.schemas);
  }

  /**
   * Answers a request whose path starts with /api/, or an old client's
   * request to / (`body` given when server.ts read it already). `path` is
   * req.url up to its `?`. Never throws.
   */
  async serve(req: IncomingMessage, res: ServerResponse, path: string, requestId: string, body?: string): Promise<void> {
    // Counted in the HTTP latency histogram as the JSON-RPC door's requests
    // are (send.ts); on / the JSON-RPC door may have started the clock already.
    (res as Response)[TIMED] ??= { started: performance.now(), metrics: this.deps.services.metrics };
    try {
      await this.route(req, res, path, requestId, body);
    } catch (err) {
      const appErr = toAppError(err);
      if (!(err instanceof AppError)) this.deps.log.error({ req_id: requestId, outcome: appErr.kind, err }, 'REST request failed');
      const status = err instanceof UnsupportedMediaType ? 415 : ERRORS[appErr.kind].http;
      const wait = (appErr.data as { retry_after?: unknown } | undefined)?.retry_after;
      if (typeof wait === 'number' && !res.headersSent) res.setHeader('Retry-After', String(wait));
      if (!res.headersSent) sendJson(res, status, frappeError(appErr));
      else res.destroy();
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, path: string, requestId: string, given: string | undefined): Promise<void> {
    const { log, services } = this.deps;
    const route = path === '/' ? ROOT : matchRoute(path);
    if (!route) {
      return sendJson(res, 404, frappeError(new AppError('not_found', 'Not found: this service serves /api/method/<name> and /api/resource/User')));
    }
    if (this.cors.enabled) this.cors.admit(req, res);
    const verb = req.method ?? 'GET';
    if (verb === 'OPTIONS') return this.cors.options(req, res, `${route.allow.join(', ')}, OPTIONS`);
    if (!route.allow.includes(verb)) {
      const allow = route.allow.join(', ');
      return methodNotAllowed(res, allow, frappeError(new AppError('invalid_request', `Method ${verb} not allowed here: use ${allow}`)));
    }

    const body = given ?? (await readBody(req, res, this.deps.maxBodyBytes, log, requestId, frappeError));
    if (body === undefined) return;

    const caller = await admit(services.auth, log, req, res, requestId, frappeError);
    if (!caller) return;
    const ctx = callContext(caller, requestId, clientAddress(req), log, services);

    const input = readInput(req, (req.url ?? '').slice(path.length + 1), body);
    if (route.kind === 'method') {
      const name = route.cmd ? methodName(input.cmd ?? '') : route.name;
      const result = await this.method(name, verb, input, ctx);
      return sendJson(res, 200, { message: result });
    }
    const plan = this.plan(route, verb, input);
    const result = await this.invoke(plan.method, plan.params, ctx, plan.renames);
    sendJson(res, plan.status, plan.reply(result));
  }

  private async method(name: string, verb: string, input: Input, ctx: CallContext): Promise<unknown> {
    const spec = this.specs.get(name);
    if (!spec) throw new AppError('method_not_found', name ? `Method not found: ${name}` : 'Method not found');
    if (verb !== 'POST' && !spec.readOnly) {
      this.calls.get(name)!.refused(ctx, 'permission_denied');
      throw new AppError('permission_denied', `${name} changes data, so it answers only POST: send the same request as a POST`);
    }
    return this.invoke(name, this.coercer.params(name, input), ctx);
  }

  private plan(route: Exclude<Route, { kind: 'method' }>, verb: string, input: Input): Plan {
    if (route.doctype !== DOCTYPE) {
      const shown = DOCTYPE_NAME.test(route.doctype) ? `DocType ${route.doctype} not found` : 'DocType not found';
      throw new AppError('not_found', `${shown}: this service holds only ${DOCTYPE}`);
    }
    if (route.kind === 'collection') return verb === 'GET' ? listPlan(input, this.coercer) : createPlan(input, this.coercer);
    if (verb === 'GET') return readPlan(route.name, input, this.coercer);
    if (verb === 'PUT') return updatePlan(route.name, input, this.coercer);
    return deletePlan(route.name, input, this.coercer);
  }

  /** dispatcher.invoke, counted and logged; its errors' paths under the names the client sent (`renames`). */
  private async invoke(name: string, params: Record<string, unknown>, ctx: CallContext, renames?: ReadonlyMap<string, string>): Promise<unknown> {
    const calls = this.calls.get(name)!;
    const started = performance.now();
    try {
      const result = await this.deps.dispatcher.invoke(name, params, ctx);
      calls.ok(ctx, started);
      return result;
    } catch (err) {
      const appErr = calls.failed(ctx, err, started);
      throw renames ? renamePaths(appErr, renames) : appErr;
    }
  }
}

/** The route of an /api/ path; undefined when it names nothing this door serves. */
function matchRoute(path: string): Route | undefined {
  if (AMBIGUOUS_PATH.test(path)) return undefined;
  const m = PREFIX.exec(path);
  if (!m) return undefined;
  const [, kind, rest = ''] = m;
  if (kind === 'method') {
    // handle_rpc_call gets the decoded path and keeps `method.split("/")[0]`,
    // so /api/method/<name>/ is <name>.
    return { kind: 'method', name: methodName((decode(rest) ?? '').split('/', 1)[0]!), allow: GET_POST };
  }
  const slash = rest.indexOf('/');
  const doctype = decode(slash < 0 ? rest : rest.slice(0, slash));
  const name = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/$/, '');
  if (doctype === undefined || doctype === '') return undefined;
  if (name === '') return { kind: 'collection', doctype, allow: GET_POST };
  // A name that does not decode is kept as sent: the schema then refuses it with its path.
  return { kind: 'document', doctype, name: decode(name) ?? name, allow: GET_PUT_DELETE };
}

/** The name if it can name a method of the table, else '' (never echoed). */
function methodName(name: string): string {
  return METHOD_NAME.test(name) && name.length <= 200 ? name : '';
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
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
