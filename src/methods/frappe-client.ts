/**
 * Frappe's client API (frappe/client.py) for the one doctype this service
 * holds, User: what Frappe's own clients call to list, count, read one value,
 * change one field, insert and delete. Same parameter names and result shapes
 * as Frappe; users in Frappe's shape (store/frappe-user.ts). Any other doctype
 * gets Frappe's DoesNotExistError (-32004; 404 on the REST door).
 *
 * Nothing here touches the users collection on its own: reads go through
 * user.get's and user.list's handlers, writes through user.create's,
 * user.update's and user.delete's, after the same schema check those methods
 * get at the door. So the roles, the Administrator guard, containment (a
 * restricted token may not grant roles or enable a user) and the audit log
 * apply exactly as they do there. The scope a call needs is its own name
 * (frappe.client.save, or frappe.client.*), checked by the dispatcher.
 */
import { method, type CallContext, type MethodName, type ParamsOf, type ResultOf } from '../rpc/spec.js';
import { AppError, invalidParams, invalidParam } from '../errors.js';
import { describeErrors, loadSchemas } from '../rpc/schemas.js';
import { checkUserChange } from '../auth/containment.js';
import { SYSTEM_MANAGER, publicUser, type PublicUser, type UserChanges } from '../store/users.js';
import { DOCTYPE, frappeUser, userFromFrappe, type Current, type UserFields } from '../store/frappe-user.js';
import { frappeColumns, frappeRow, userQuery } from '../store/user-query.js';
import { userCreate, userDelete, userGet, userUpdate } from './users.js';
import { userList } from './user-list.js';

const managers = [SYSTEM_MANAGER];
/** A doctype worth echoing in "DocType X not found" (as the REST door). */
const DOCTYPE_NAME = /^[A-Za-z][A-Za-z0-9 _-]{0,60}$/;
/** Frappe's page size when none is given, and what its 0 ("no limit") becomes: user.list's largest page. */
const DEFAULT_PAGE = 20;
const LARGEST_PAGE = 1000;
/** frappe.client.insert_many: "Only 200 inserts allowed in one request". */
const MAX_INSERTS = 200;
/** Frappe's default_fields: set_value refuses them ("Cannot edit standard fields"). */
const STANDARD_FIELDS = new Set(['doctype', 'name', 'owner', 'creation', 'modified', 'modified_by', 'docstatus', 'idx', 'created_at', 'modified_at']);

type Filters = unknown;
type Doc = Record<string, unknown>;

function invalid(path: string, message: string): AppError {
  return invalidParam(path, message);
}

/** Frappe answers any doctype it does not have with DoesNotExistError. */
function checkDoctype(doctype: unknown): void {
  if (doctype === DOCTYPE) return;
  const shown = typeof doctype === 'string' && DOCTYPE_NAME.test(doctype) ? `DocType ${doctype} not found` : 'DocType not found';
  throw new AppError('not_found', `${shown}: this service holds only ${DOCTYPE}`);
}

/** Params checked against another method's schema (the one whose handler runs next), paths under `base`; so of its params type. */
function validated<N extends MethodName>(schemaId: `${N}.params.json`, params: object, base = ''): ParamsOf<N> {
  const validate = loadSchemas().validator(schemaId);
  if (!validate(params)) {
    const problems = describeErrors(validate.errors).map((p) => ({ ...p, path: base + (p.path === '/' ? '' : p.path) || '/' }));
    throw invalidParams(problems);
  }
  return params;
}

/** Without the undefined members (ajv counts them as given). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v).length === 0);
}

/** A value Frappe takes as JSON text or as it is (doc, docs, fieldname). */
function parsed(v: unknown, path: string, what: string): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    throw invalid(path, `must be ${what} (or its JSON text)`);
  }
}

function asDoc(v: unknown, path: string): Doc {
  const doc = parsed(v, path, 'a JSON object');
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(path, 'must be a JSON object');
  return doc as Doc;
}

/** Frappe's User document as get, insert, save and set_value answer it: always with its api_key (null without one). */
type UserDocument = ResultOf<'frappe.client.get'>;

/** `user` as Frappe's User document, with `apiKey`. */
function userDocument(user: PublicUser, apiKey: string | null): UserDocument {
  // frappeUser sets api_key whenever it is given one, as here (its type cannot say so).
  return frappeUser(user, apiKey) as UserDocument;
}

/** The user with its api_key, as Frappe's User document. */
async function document(name: string, ctx: CallContext): Promise<UserDocument> {
  const user = await userGet.handler({ name }, ctx);
  const keys = await ctx.services.storage.users.apiKeys([user.name]);
  return userDocument(user, keys.get(user.name) ?? null);
}

/** Filters as Frappe's get and get_value take them: a name, a dict or list of conditions, or nothing. */
function asFilters(filters: Filters): Filters {
  if (typeof filters === 'string' && filters !== '') return { name: filters };
  return isBlank(filters) ? undefined : filters;
}

/** The first users matching, read with user.list's handler (its schema first), each with `fields` stored fields. */
async function firstRows(filters: Filters, fields: string[], limit: number, ctx: CallContext): Promise<Record<string, unknown>[]> {
  const params = validated('user.list.params.json', defined({ start: 0, limit, fields, filters: asFilters(filters) }));
  return (await userList.handler(params, ctx)) as Record<string, unknown>[]; // as_dict (the default): objects
}

// ---------------------------------------------------------------- reads

export const frappeGetList = method({
  name: 'frappe.client.get_list',
  summary:
    'Frappe\'s get_list for User: a page of users, only the name unless fields are asked for ("*" for all), with filters, or_filters, order_by, limit_start, limit_page_length (0: the largest page, 1000) and as_dict.',
  roles: managers,
  readOnly: true,
  errors: ['not_found'],
  async handler(p, ctx) {
    checkDoctype(p.doctype);
    // get_list groups rows by it; rows that mean something else than asked are worse than a refusal.
    if (!isBlank(p.group_by)) throw invalid('/group_by', 'grouping is not supported here');
    const cols = frappeColumns(p.fields, { apiKey: true });
    const limit = p.limit_page_length === 0 ? LARGEST_PAGE : (p.limit_page_length ?? DEFAULT_PAGE);
    const params = validated(
      'user.list.params.json',
      defined({
        start: p.limit_start ?? 0,
        limit,
        fields: cols.reads,
        filters: p.filters ?? undefined,
        or_filters: p.or_filters ?? undefined,
        order_by: p.order_by ?? undefined,
      }),
    );
    const rows = (await userList.handler(params, ctx)) as Record<string, unknown>[];
    const keys = cols.apiKey ? await ctx.services.storage.users.apiKeys(rows.map((r) => r.name as string)) : undefined;
    return rows.map((r) => frappeRow(r, cols.columns, p.as_dict ?? true, keys));
  },
});

export const frappeGetCount = method({
  name: 'frappe.client.get_count',
  summary: "Frappe's get_count for User: how many users match filters.",
  roles: managers,
  readOnly: true,
  errors: ['not_found'],
  async handler(p, ctx) {
    checkDoctype(p.doctype);
    const params = validated('user.list.params.json', defined({ filters: p.filters ?? undefined }));
    // The same translation user.list uses (known fields and operators only).
    return ctx.services.storage.users.count(userQuery(params));
  },
});

export const frappeGet = method({
  name: 'frappe.client.get',
  summary: "Frappe's get for User: one user as Frappe's User document (with its api_key, never the secret), by name or by filters (the first match).",
  roles: managers,
  readOnly: true,
  errors: ['not_found'],
  async handler(p, ctx) {
    checkDoctype(p.doctype);
    if (p.name !== undefined) return document(p.name, ctx);
    if (p.filters === undefined || p.filters === null || p.filters === '') {
      throw invalid('/name', 'name or filters is required (User is not a single doctype)');
    }
    const [row] = await firstRows(p.filters, ['name'], 1, ctx);
    if (!row) throw new AppError('not_found', `${DOCTYPE} not found`);
    return document(row.name as string, ctx);
  },
});

export const frappeGetValue = method({
  name: 'frappe.client.get_value',
  summary:
    "Frappe's get_value for User: fields of the first user matching filters (a name, or conditions), as an object (as_dict, the default), or the value itself (one field) or a list of values.",
  roles: managers,
  readOnly: true,
  errors: ['not_found'],
  async handler(p, ctx) {
    checkDoctype(p.doctype);
    // frappe.parse_json: a list may come as its JSON text; anything else names one field.
    let fieldname: unknown = p.fieldname;
    if (typeof fieldname === 'string' && fieldname.trim().startsWith('[')) fieldname = parsed(fieldname, '/fieldname', 'a list of field names');
    const cols = frappeColumns(Array.isArray(fieldname) ? fieldname : [fieldname], { apiKey: true });
    const [row] = await firstRows(p.filters, cols.reads, 1, ctx);
    const asDict = p.as_dict ?? true;
    if (!row) return asDict ? {} : null;
    const keys = cols.apiKey ? await ctx.services.storage.users.apiKeys([row.name as string]) : undefined;
    if (asDict) return frappeRow(row, cols.columns, true, keys);
    const values = frappeRow(row, cols.columns, false, keys) as unknown[];
    // One field's value: a string, null, 0/1 or the Has Role rows (a list), as the schema has it.
    return cols.columns.length > 1 ? values : (values[0] as ResultOf<'frappe.client.get_value'>);
  },
});

// ---------------------------------------------------------------- writes

/** The fields that differ from the stored user (unconverted values stay, for the schema to refuse). */
function changed(fields: UserFields, current: Current): UserChanges {
  const out: Record<string, unknown> = {};
  if (fields.full_name !== undefined && fields.full_name !== current.full_name) out.full_name = fields.full_name;
  if (fields.enabled !== undefined && fields.enabled !== current.enabled) out.enabled = fields.enabled;
  if (fields.roles !== undefined) {
    const r = fields.roles;
    const same = Array.isArray(r) && r.length === current.roles.length && r.every((x) => current.roles.includes(x as string));
    if (!same) out.roles = r;
  }
  return out;
}

/**
 * A Frappe document's fields written to user `name` through user.update's
 * handler (its schema checked first, paths under `base`), when anything
 * differs; the user as Frappe's document after.
 */
async function saveUser(name: string, doc: Doc, ctx: CallContext, base: string): Promise<UserDocument> {
  const stored = await ctx.services.storage.users.get(name);
  const apiKey = (await ctx.services.storage.users.apiKeys([name])).get(name) ?? null;
  const current: Current = { name, full_name: stored.full_name, roles: stored.roles, enabled: stored.enabled, api_key: apiKey };
  const { name: docName, fields } = userFromFrappe(doc, { current, update: true, base });
  if (docName !== undefined && docName !== name) throw invalid(`${base}/name`, `must be ${JSON.stringify(name)}: renaming is not supported`);
  const changes = changed(fields, current);
  if (Object.keys(changes).length === 0) return userDocument(publicUser(stored), apiKey);
  const params = validated('user.update.params.json', { name, ...changes }, base);
  return userDocument(await userUpdate.handler(params, ctx), apiKey);
}

/** A document to insert as user.create's params, checked by its schema (paths under `base`). */
function newUser(doc: Doc, base: string): ParamsOf<'user.create'> {
  checkDoctype(doc.doctype);
  const { name, fields } = userFromFrappe(doc, { base });
  return validated('user.create.params.json', defined({ name, ...fields }), base);
}

/** A document's name for a save, checked as user.get checks it. */
function docName(doc: Doc, base: string): string {
  const name = doc.name ?? (doc.email === null || doc.email === '' ? undefined : doc.email);
  if (name === undefined) throw invalid(`${base}/name`, 'is required');
  return validated('user.get.params.json', { name }, base).name;
}

export const frappeSetValue = method({
  name: 'frappe.client.set_value',
  summary: "Frappe's set_value for User: change one field (fieldname, value), or several (fieldname an object), and answer the user as Frappe's User document.",
  roles: managers,
  readOnly: false,
  errors: ['not_found'],
  async handler(p, ctx) {
    checkDoctype(p.doctype);
    let values: Doc;
    if (p.value !== undefined) {
      if (typeof p.fieldname !== 'string') throw invalid('/fieldname', 'must be one field name when value is given');
      values = { [p.fieldname]: p.value };
    } else {
      const fieldname = typeof p.fieldname === 'string' && p.fieldname.trim().startsWith('{') ? parsed(p.fieldname, '/fieldname', 'an object') : p.fieldname;
      if (typeof fieldname === 'string') throw invalid('/value', `is required to set ${JSON.stringify(fieldname)}`);
      values = fieldname as Doc;
    }
    for (const field of Object.keys(values)) {
      if (STANDARD_FIELDS.has(field)) throw invalid('/fieldname', `Cannot edit standard fields (${field})`);
    }
    return saveUser(p.name, values, ctx, '');
  },
});

export const frappeInsert = method({
  name: 'frappe.client.insert',
  summary:
    "Frappe's insert for User: create a user from Frappe's User document (name or email, first_name and last_name or full_name, enabled, roles) and answer it.",
  roles: managers,
  readOnly: false,
  errors: ['not_found', 'conflict'],
  async handler(p, ctx) {
    const params = newUser(asDoc(p.doc, '/doc'), '/doc');
    return userDocument(await userCreate.handler(params, ctx), null); // a new user has no key yet
  },
});

export const frappeInsertMany = method({
  name: 'frappe.client.insert_many',
  summary:
    "Frappe's insert_many for User: create up to 200 users, in order, and answer their names. Every document is checked before the first is written; a failure while writing leaves the earlier ones created.",
  roles: managers,
  readOnly: false,
  // Up to 200 writes in one call.
  cost: 10,
  errors: ['not_found', 'conflict'],
  async handler(p, ctx) {
    const docs = parsed(p.docs, '/docs', 'a list of documents');
    if (!Array.isArray(docs)) throw invalid('/docs', 'must be a list of documents');
    if (docs.length > MAX_INSERTS) throw invalid('/docs', `Only ${MAX_INSERTS} inserts allowed in one request`);
    // All checks first (shape, schema, containment, names), so a bad document writes nothing.
    const all = docs.map((d, i) => newUser(asDoc(d, `/docs/${i}`), `/docs/${i}`));
    for (const params of all) checkUserChange(ctx.caller, params);
    const names = all.map((u) => u.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new AppError('conflict', `User ${twice} appears twice in docs`);
    const taken = await ctx.services.storage.users.existing(names);
    if (taken.length > 0) throw new AppError('conflict', `User ${taken[0]} already exists`);
    const out: string[] = [];
    for (const params of all) out.push((await userCreate.handler(params, ctx)).name);
    return out;
  },
});

export const frappeSave = method({
  name: 'frappe.client.save',
  summary: "Frappe's save for User: write a whole User document back (as read, with changes) and answer it. Renaming is not supported.",
  roles: managers,
  readOnly: false,
  errors: ['not_found'],
  async handler(p, ctx) {
    const doc = asDoc(p.doc, '/doc');
    if (doc.doctype === undefined) throw invalid('/doc/doctype', 'is required');
    checkDoctype(doc.doctype);
    return saveUser(docName(doc, '/doc'), doc, ctx, '/doc');
  },
});

export const frappeDelete = method({
  name: 'frappe.client.delete',
  summary: "Frappe's delete for User: delete a user and its keys (Administrator cannot be deleted). Answers null, as Frappe does.",
  roles: managers,
  readOnly: false,
  errors: ['not_found'],
  async handler(p, ctx) {
    checkDoctype(p.doctype);
    await userDelete.handler({ name: p.name }, ctx);
    return null;
  },
});
