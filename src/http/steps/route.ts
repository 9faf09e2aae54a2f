/**
 * Step 1, route: which door answers the request, and the verbs it answers
 * there; any other path is a 404 (route_not_found).
 *
 *   POST /rpc, POST /                JSON-RPC (doors/jsonrpc.ts)
 *   GET|POST /api/method/<name>      Frappe's REST door (doors/frappe.ts), also under /api/v1/
 *   /api/resource/User[/<name>]      the same door, User documents (resource.ts)
 *   GET /?cmd=<name>                 an old Frappe client: the REST door, as /api/method/<cmd>
 *   GET /metrics                     Prometheus (doors/metrics.ts)
 *   POST /api/secret-scanning/github GitHub's leak reports, signed, no token (doors/secret-scanning.ts), when keys are configured
 *
 * /api/ paths are read the way Frappe reads them (frappe/api/__init__.py
 * mounts v1 at both prefixes with strict_slashes off, so a trailing slash is
 * accepted; frappe-client's get_api and post_api send /api/method/<name>/).
 */
import { AppError } from '../../errors.js';
import type { Door, Exchange, Route, Step } from '../exchange.js';
import { SECRET_SCANNING_PATH, type SecretScanningDoor } from '../doors/secret-scanning.js';
import { refuseSecretInUrl } from './url-secret.js';

export interface Doors {
  jsonrpc: Door;
  rest: Door;
  metrics: Door;
  /** Absent when no signing keys are configured: the path is then the REST door's 404. */
  secretScanning?: SecretScanningDoor | undefined;
}

const POST = ['POST'] as const;
const GET = ['GET'] as const;
export const GET_POST = ['GET', 'POST'] as const;
const GET_PUT_DELETE = ['GET', 'PUT', 'DELETE'] as const;

const PREFIX = /^\/api\/(?:v1\/)?(method|resource)\/(.*)$/;
/** A method name as the table spells them; anything else cannot name one, and is never echoed. */
const METHOD_NAME = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/;
/**
 * A dot segment, an empty segment (// anywhere; one trailing slash is fine),
 * a backslash, or a slash, backslash or dot sent encoded. A proxy or a
 * browser may resolve such a path to another route than the one this door
 * reads (/api/method/x/../../resource/User), so what was allowed or logged
 * in front is not what runs here: refused as not found instead.
 */
const AMBIGUOUS_PATH = /\/\.{1,2}(?:\/|$)|\/\/|\\|%2f|%5c|%2e/i;
/** The route of an old client's request to /. */
export const ROOT: Route = { kind: 'method', name: '', cmd: true };

const NOT_FOUND_API = 'Not found: this service serves /api/method/<name> and /api/resource/User';

export function route(doors: Doors): Step {
  return (x: Exchange) => {
    const { path } = x;
    if (path === '/rpc' || path === '/') {
      if (path === '/' && x.query !== '' && oldClientQuery(x.query)) return toRest(x, doors.rest, ROOT);
      x.door = doors.jsonrpc;
      x.allow = POST;
      return true;
    }
    if (path === SECRET_SCANNING_PATH && doors.secretScanning) {
      x.door = doors.secretScanning;
      x.allow = POST;
      return true;
    }
    if (path.startsWith('/api/')) {
      x.door = doors.rest; // so even its 404 carries Frappe's body
      const found = restRoute(path);
      if (!found) throw notFound(x, NOT_FOUND_API);
      return toRest(x, doors.rest, found);
    }
    if (path === '/metrics') {
      x.door = doors.metrics;
      x.allow = GET;
      return true;
    }
    throw notFound(x);
  };
}

/**
 * The 404 of a path no door serves; but a URL holding a secret is refused
 * as such first (url-secret.ts, which throws), as on a path that is served:
 * /api/tas_... is told the same as /api/method/tas_....
 */
function notFound(x: Exchange, message?: string): AppError {
  refuseSecretInUrl(x);
  return new AppError('route_not_found', message);
}

/** An old client's request to /: a `cmd` in the query string (frappe-client's get_request; old-client.ts has the rest). */
function oldClientQuery(query: string): boolean {
  return new URLSearchParams(query).has('cmd');
}

/** Hands the request to the REST door with its route. */
export function toRest(x: Exchange, rest: Door, found: Route): true {
  x.door = rest;
  x.route = found;
  x.allow = found.kind === 'document' ? GET_PUT_DELETE : GET_POST;
  return true;
}

/** The route of an /api/ path; undefined when it names nothing the REST door serves. */
export function restRoute(path: string): Route | undefined {
  if (AMBIGUOUS_PATH.test(path)) return undefined;
  const m = PREFIX.exec(path);
  if (!m) return undefined;
  const [, kind, rest = ''] = m;
  if (kind === 'method') {
    // handle_rpc_call gets the decoded path and keeps `method.split("/")[0]`,
    // so /api/method/<name>/ is <name>.
    return { kind: 'method', name: methodName((decode(rest) ?? '').split('/', 1)[0]!) };
  }
  const slash = rest.indexOf('/');
  const doctype = decode(slash < 0 ? rest : rest.slice(0, slash));
  const name = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/$/, '');
  if (doctype === undefined || doctype === '') return undefined;
  if (name === '') return { kind: 'collection', doctype };
  // A name that does not decode is kept as sent: the schema then refuses it with its path.
  return { kind: 'document', doctype, name: decode(name) ?? name };
}

/** The name if it can name a method of the table, else '' (never echoed). */
export function methodName(name: string): string {
  return METHOD_NAME.test(name) && name.length <= 200 ? name : '';
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
