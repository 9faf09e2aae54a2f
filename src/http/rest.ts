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
import { callContext, type CallContext, type MethodSpec, type Services } from '../rpc/spec.js';
import type { ParamProblem } from '../rpc/schemas.js';
import { readBody, BodyTooLarge, ClientGone } from './body.js';
import type { Cors } from './cors.js';
import { checkFailed, refuse } from './gate.js';
import { frappeError, frappeErrorBody } from './frappe-error.js';
import { Coercer, readInput, UnsupportedMediaType, type Input } from './params.js';
import { DOCTYPE, createPlan, deletePlan, listPlan, readPlan, updatePlan, type Plan } from './resource.js';
import { TIMED, sendJson, methodNotAllowed, type Response } from './send.js';

export interface RestDeps {
  services: Services;
  dispatcher: Dispatcher;
  log: Logger;
  maxBodyBytes: number;
}

type Route =
  /** `cmd`: the name is the request's cmd param (a request to /), not the path's. */
  | { kind: 'method'; name: string; allow: string; cmd?: true }
  | { kind: 'collection'; doctype: string; allow: string }
  | { kind: 'document'; doctype: string; name: string; allow: string };

const PREFIX = /^\/api\/(?:v1\/)?(method|resource)\/([^?]*)$/;
/** A method name as the table spells them; anything else cannot name one, and is never echoed. */
const METHOD_NAME = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/;
/** A doctype worth echoing in "DocType X not found". */
const DOCTYPE_NAME = /^[A-Za-z][A-Za-z0-9 _-]{0,60}$/;
/** The route of an old client's request to / (see oldClient). */
const ROOT: Route = { kind: 'method', name: '', allow: 'GET, POST', cmd: true };

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
  private readonly coercer: Coercer;

  constructor(
    private readonly deps: RestDeps,
    private readonly cors: Cors,
  ) {
    this.specs = new Map(deps.dispatcher.methods.map((m) => [m.name, m]));
    this.coercer = new Coercer(deps.dispatcher.schemas);
  }

  /**
   * Answers a request whose path starts with /api/, or an old client's
   * request to / (`body` given when server.ts read it already). Never throws.
   */
  async serve(req: IncomingMessage, res: ServerResponse, path: string, requestId: string, body?: string): Promise<void> {
    // Counted in the HTTP latency histogram as the JSON-RPC door's requests
    // are (send.ts); on / the JSON-RPC door may have started the clock already.
    const timed = ((res as Response)[TIMED] ??= { started: performance.now(), metrics: this.deps.services.metrics });
    try {
      await this.route(req, res, path, requestId, timed.started, body);
    } catch (err) {
      const appErr = toAppError(err);
      this.deps.log.error({ req_id: requestId, outcome: appErr.kind, err }, 'REST request failed');
      if (!res.headersSent) sendJson(res, ERRORS[appErr.kind].http, frappeError(appErr));
      else res.destroy();
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, path: string, requestId: string, started: number, given: string | undefined): Promise<void> {
    const { log, services } = this.deps;
    const route = path === '/' ? ROOT : matchRoute(path);
    if (!route) {
      return sendJson(res, 404, frappeError(new AppError('not_found', 'Not found: this service serves /api/method/<name> and /api/resource/User')));
    }
    if (this.cors.enabled) this.cors.admit(req, res);
    const verb = req.method ?? 'GET';
    if (verb === 'OPTIONS') return this.cors.options(req, res, `${route.allow}, OPTIONS`);
    if (!route.allow.split(', ').includes(verb)) {
      return methodNotAllowed(res, route.allow, frappeError(new AppError('invalid_request', `Method ${verb} not allowed here: use ${route.allow}`)));
    }

    let body = given;
    if (body === undefined) {
      try {
        body = await readBody(req, this.deps.maxBodyBytes);
      } catch (err) {
        if (err instanceof ClientGone) return;
        if (!(err instanceof BodyTooLarge)) throw err;
        log.info({ req_id: requestId, outcome: 'body_too_large' }, 'request refused');
        res.setHeader('Connection', 'close');
        return sendJson(res, 413, frappeError(new AppError('invalid_request', 'Request body too large')));
      }
    }

    const address = req.socket.remoteAddress ?? 'unknown';
    let verdict;
    try {
      verdict = await services.auth.authenticate(req.headers.authorization, { address, weight: 1 });
    } catch (err) {
      return checkFailed(log, res, requestId, err, null, frappeErrorBody);
    }
    if (!verdict.ok) return refuse(log, res, requestId, verdict, started, null, frappeErrorBody);
    const ctx = callContext(verdict.caller, requestId, address, log, services);

    let renames: ReadonlyMap<string, string> | undefined;
    try {
      const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
      const input = readInput(req, query, body);
      if (route.kind === 'method') {
        const name = route.cmd ? methodName(input.cmd ?? '') : route.name;
        const result = await this.method(name, verb, input, ctx);
        return sendJson(res, 200, { message: result });
      }
      const plan = this.plan(route, verb, input);
      renames = plan.renames;
      const result = await this.invoke(plan.method, plan.params, ctx);
      sendJson(res, plan.status, plan.reply(result));
    } catch (err) {
      let appErr = toAppError(err);
      if (renames) appErr = renamePaths(appErr, renames);
      const status = err instanceof UnsupportedMediaType ? 415 : ERRORS[appErr.kind].http;
      if (!(err instanceof AppError)) log.error({ req_id: requestId, outcome: appErr.kind, err }, 'REST call failed');
      sendJson(res, status, frappeError(appErr));
    }
  }

  private async method(name: string, verb: string, input: Input, ctx: CallContext): Promise<unknown> {
    const spec = this.specs.get(name);
    if (!spec) throw new AppError('method_not_found', name ? `Method not found: ${name}` : 'Method not found');
    if (verb !== 'POST' && !spec.readOnly) {
      this.record(spec, ctx, 'permission_denied', 0);
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

  /** dispatcher.invoke, counted and logged as the JSON-RPC door does (src/rpc/jsonrpc.ts). */
  private async invoke(name: string, params: Record<string, unknown>, ctx: CallContext): Promise<unknown> {
    const spec = this.specs.get(name)!;
    const started = performance.now();
    try {
      const result = await this.deps.dispatcher.invoke(name, params, ctx);
      this.record(spec, ctx, 'ok', started);
      return result;
    } catch (err) {
      const appErr = toAppError(err);
      const unexpected = appErr.kind === 'internal' || appErr.kind === 'storage_unavailable';
      this.record(spec, ctx, appErr.kind, started, unexpected ? err : undefined);
      throw appErr;
    }
  }

  private record(spec: MethodSpec, ctx: CallContext, outcome: string, started: number, err?: unknown): void {
    const { log, services } = this.deps;
    services.metrics.callCounter(spec.name, outcome).inc();
    const ms = started === 0 ? 0 : Math.round((performance.now() - started) * 100) / 100;
    const line = { req_id: ctx.requestId, user: ctx.caller.user, method: spec.name, door: 'rest', outcome, ms };
    if (err !== undefined) log.error({ ...line, err }, 'call failed');
    else if (outcome === 'ok' && spec.readOnly) log.debug(line, 'call');
    else log.info(line, 'call');
  }
}

/** The route of an /api/ path; undefined when it names nothing this door serves. */
function matchRoute(path: string): Route | undefined {
  const m = PREFIX.exec(path);
  if (!m) return undefined;
  const [, kind, rest = ''] = m;
  if (kind === 'method') {
    // handle_rpc_call gets the decoded path and keeps `method.split("/")[0]`,
    // so /api/method/<name>/ is <name>.
    return { kind: 'method', name: methodName((decode(rest) ?? '').split('/', 1)[0]!), allow: 'GET, POST' };
  }
  const slash = rest.indexOf('/');
  const doctype = decode(slash < 0 ? rest : rest.slice(0, slash));
  const name = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/$/, '');
  if (doctype === undefined || doctype === '') return undefined;
  if (name === '') return { kind: 'collection', doctype, allow: 'GET, POST' };
  // A name that does not decode is kept as sent: the schema then refuses it with its path.
  return { kind: 'document', doctype, name: decode(name) ?? name, allow: 'GET, PUT, DELETE' };
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
