/**
 * Frappe's document routes for the one doctype this service holds, User,
 * each mapped onto a method of the table (so roles, scopes and schemas apply
 * as on every door). Mirrors frappe/api/v1.py:
 *
 *   GET    /api/resource/User          document_list -> user.list   {"data": [...]}
 *   POST   /api/resource/User          create_doc    -> user.create {"data": doc}
 *   GET    /api/resource/User/<name>   read_doc      -> user.get    {"data": doc}
 *   PUT    /api/resource/User/<name>   update_doc    -> user.update {"data": doc}
 *   DELETE /api/resource/User/<name>   delete_doc    -> user.delete 202 {"data": "ok"}
 *
 * Documents and rows are in Frappe's User shape (store/frappe-user.ts):
 * "doctype": "User" (frappe-client's update(doc) builds its URL from
 * doc["doctype"]), email, first_name, last_name, enabled as 1/0, roles as
 * Has Role rows, creation and modified; so a document read here can be
 * changed and sent back as it is, and one from a Frappe site is understood.
 * The api_key is on frappe.client.get's document, not here: these routes
 * answer what user.get and user.list answer, reshaped, and those carry no key.
 */
import { AppError, invalidParams, invalidParam } from '../errors.js';
import type { PublicUser } from '../store/users.js';
import { DOCTYPE, frappeUser, userFromFrappe } from '../store/frappe-user.js';
import { frappeColumns, frappeRow } from '../store/user-query.js';
import { NOISE, type Coercer, type Input } from './params.js';

export { DOCTYPE };

export interface Plan {
  method: string;
  params: Record<string, unknown>;
  /** HTTP status on success. */
  status: number;
  reply(result: unknown): unknown;
  /** Param names this door renamed (ours -> the name the client sent), to put back in error paths. */
  renames?: ReadonlyMap<string, string>;
}

/** Frappe's list parameters and their names in user.list. */
const LIST_NAMES = new Map([
  ['limit_start', 'start'],
  ['limit_page_length', 'limit'],
  ['limit', 'limit'],
]);
/**
 * Names user.list does not take are ignored, as document_list ignores them:
 * it hands the whole form_dict to frappe.call(frappe.client.get_list, ...),
 * which passes on only the arguments get_list declares (get_newargs in
 * frappe/__init__.py). So `debug` (prints the SQL on the server), `parent`
 * (a child table's parent), `expand` (link fields; User has none) and any
 * stray name change nothing. Except these, which Frappe's get_list does
 * read and this door does not serve: ignoring them would answer rows that
 * mean something else than what was asked.
 */
const LIST_REFUSED = new Set(['group_by']);
/** JSON-encoded list parameters for which an empty list or object means "not given". */
const LIST_JSON = new Set(['fields', 'filters', 'or_filters']);
/** Frappe's page size when none is given (document_list in frappe/api/v1.py). */
const DEFAULT_PAGE = 20;
/** The page size Frappe's 0 ("no limit") becomes when user.list's schema states no maximum. */
const FALLBACK_MAX_PAGE = 1000;

/**
 * read_doc reads two names of form_dict: `run_method`, which runs a method
 * of the document instead (User here has none, so it is refused rather than
 * answered with the document), and `expand_links` (User has no links).
 * Anything else, such as the `fields` and `filters` frappe-client's get_doc
 * sends, is ignored here too; the name comes from the URL.
 */
const READ_REFUSED = 'run_method';
/** Bookkeeping fields of a document, set by the service, never by a client. */
const BOOKKEEPING = new Set(['doctype', 'created_at', 'modified_at', 'flags']);

const asDoc = (result: unknown) => ({ data: frappeUser(result as PublicUser) });

export function listPlan(input: Input, coercer: Coercer): Plan {
  const method = 'user.list';
  const renames = new Map<string, string>();
  const rename = <T>(source: Iterable<[string, T]>, empty: (name: string, v: T) => boolean, pageGiven: boolean) => {
    const out = new Map<string, T>();
    for (const [name, value] of source) {
      const ours = LIST_NAMES.get(name) ?? name;
      if (NOISE.has(name) || empty(name, value)) continue;
      if (!coercer.knows(method, ours) && !LIST_REFUSED.has(name)) continue;
      // document_list: limit_page_length, when sent, wins over its alias limit.
      if (name === 'limit' && pageGiven) continue;
      if (renames.has(ours)) throw givenTwice(name);
      renames.set(ours, name);
      out.set(ours, value);
    }
    return out;
  };
  const pageGiven = has(input, 'limit_page_length');
  const text = rename(input.fields, isEmptyText, pageGiven);
  const typed = rename(Object.entries(input.json ?? {}), isEmptyValue, pageGiven);

  const params = coercer.coerce(method, text);
  for (const [k, v] of typed) params.set(k, coercer.fromJson(method, k, v));
  // Frappe's column names (email, first_name, creation, ...) as the stored
  // fields user.list reads; the rows are shaped back, as objects or arrays.
  // Without fields, only the name, as Frappe (DatabaseQuery.execute in
  // frappe/model/db_query.py; user.list's own default is every field).
  const cols = frappeColumns(params.get('fields'), { apiKey: false });
  params.set('fields', cols.reads);
  const asDict = params.get('as_dict');
  params.delete('as_dict');
  const limit = params.get('limit');
  if (limit === undefined) params.set('limit', DEFAULT_PAGE);
  // Frappe's 0 is "no limit"; here it is the largest page user.list serves.
  else if (limit === 0) params.set('limit', coercer.maximum(method, 'limit') ?? FALLBACK_MAX_PAGE);
  const reply = (data: unknown) => ({
    data: (data as Record<string, unknown>[]).map((row) => frappeRow(row, cols.columns, asDict !== false)),
  });
  return { method, params: Object.fromEntries(params), status: 200, reply, renames };
}

export function readPlan(name: string, input: Input, coercer: Coercer): Plan {
  const method = 'user.get';
  if (input.fields.has(READ_REFUSED) || (input.json !== undefined && READ_REFUSED in input.json)) {
    throw invalidParam(`/${READ_REFUSED}`, `${DOCTYPE} documents have no methods to run`);
  }
  const read = only(input, (k) => k !== 'name' && coercer.knows(method, k));
  return { method, params: named(name, coercer.params(method, read)), status: 200, reply: asDoc };
}

export function createPlan(input: Input, coercer: Coercer): Plan {
  const { name, fields } = userFromFrappe(documentOf(input, coercer, 'user.create'));
  const params = Object.fromEntries(Object.entries({ name, ...fields }).filter(([, v]) => v !== undefined));
  return { method: 'user.create', params, status: 200, reply: asDoc };
}

export function updatePlan(name: string, input: Input, coercer: Coercer): Plan {
  const sent = documentOf(input, coercer, 'user.update');
  const doc = userFromFrappe(sent, { update: true });
  if (doc.name !== undefined && doc.name !== name) {
    const path = 'name' in sent ? '/name' : '/email';
    throw invalidParam(path, 'must be the name in the URL (renaming is not supported)');
  }
  const fields = Object.fromEntries(Object.entries(doc.fields).filter(([, v]) => v !== undefined));
  return { method: 'user.update', params: named(name, fields), status: 200, reply: asDoc };
}

export function deletePlan(name: string, input: Input, coercer: Coercer): Plan {
  // delete_doc sets http_status_code 202 and returns "ok".
  return { method: 'user.delete', params: named(name, coercer.params('user.delete', input)), status: 202, reply: () => ({ data: 'ok' }) };
}

/**
 * The document a create or update sends, where Frappe's get_request_form_data
 * looks: a `data` field holding it as JSON (frappe-client's insert and
 * update), else the JSON body, else the form fields themselves; without its
 * bookkeeping fields.
 */
function documentOf(input: Input, coercer: Coercer, method: string): Record<string, unknown> {
  // Built from entries, as the copy it filters: a member named __proto__ stays an own property.
  return Object.fromEntries(Object.entries(sentDocument(input, coercer, method)).filter(([k]) => !BOOKKEEPING.has(k)));
}

function sentDocument(input: Input, coercer: Coercer, method: string): Record<string, unknown> {
  const data = input.json && 'data' in input.json ? input.json.data : input.fields.get('data');
  if (data === undefined) return coercer.params(method, input);
  const others = [...input.fields.keys(), ...Object.keys(input.json ?? {})].filter((k) => k !== 'data' && !NOISE.has(k));
  if (others.length > 0) {
    throw invalidParams(others.map((k) => ({ path: `/${k}`, message: 'is not read when the document is sent in `data`' })));
  }
  let doc: unknown = data;
  if (typeof data === 'string') {
    try {
      doc = JSON.parse(data) as unknown;
    } catch {
      throw invalidParam('/data', 'must be a JSON object');
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw invalidParam('/data', 'must be a JSON object');
  }
  // A copy built from entries: a member named __proto__ stays an own property.
  return coercer.document(method, doc);
}

/** The name from the URL first; the same name also given as a param is an error. */
function named(name: string, params: Record<string, unknown>): Record<string, unknown> {
  if ('name' in params) throw givenTwice('name');
  return Object.fromEntries([['name', name], ...Object.entries(params)]);
}

/** The input with only the names `keep` accepts. */
function only(input: Input, keep: (name: string) => boolean): Input {
  const fields = new Map([...input.fields].filter(([k]) => keep(k)));
  const json = input.json && Object.fromEntries(Object.entries(input.json).filter(([k]) => keep(k)));
  return { fields, json };
}

/** Whether a list parameter was given, in the URL or form or the JSON body, and not empty. */
function has(input: Input, name: string): boolean {
  const text = input.fields.get(name);
  if (text !== undefined && !isEmptyText(name, text)) return true;
  return input.json !== undefined && name in input.json && !isEmptyValue(name, input.json[name]);
}

/** `filters=`, `order_by=`, `filters=[]`: not given, as Frappe treats them. */
function isEmptyText(name: string, v: string): boolean {
  const t = v.trim();
  return t === '' || (LIST_JSON.has(name) && (t === '[]' || t === '{}'));
}

function isEmptyValue(name: string, v: unknown): boolean {
  if (v === null || v === '') return true;
  if (!LIST_JSON.has(name) || typeof v !== 'object') return false;
  return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
}

function givenTwice(name: string): AppError {
  return invalidParam(`/${name}`, 'given twice');
}
