/**
 * Frappe's list parameters (fields, filters, or_filters, order_by, as_dict)
 * translated into a MongoDB query on the user document. Pure: no database.
 *
 * Safety rests on construction, not on escaping: every key of the filter is
 * either one of USER_FIELDS or an operator this module writes itself, and
 * every value is a scalar or a fresh array of scalars converted here (or a
 * Date built here). Nothing the caller sends is ever placed in the query as
 * an object, so a filter cannot smuggle `$where`, `$expr` or a nested
 * operator. The JSON schema rejects such shapes first; this module does not
 * rely on it.
 *
 * What mirrors Frappe (frappe/model/db_query.py, frappe/utils/data.py
 * get_filter / make_filter_tuple, frappe/client.py get_list, frappe/api/v1.py):
 * - filters as a list of [field, operator, value] or [doctype, field,
 *   operator, value] (get_filter; doctype "User", or "Has Role" with field
 *   "role", Frappe's child table of roles), or as a dict {field: value} /
 *   {field: [operator, value]} (make_filter_tuple). A dict inside the list
 *   form is one condition, as in get_filter.
 * - an empty operator means "=" and operators are matched case-insensitively
 *   (get_filter); `in` / `not in` take a list or a comma-separated string whose
 *   items are trimmed, and an empty list means [""] (prepare_filter_condition).
 * - Frappe wraps columns in ifnull(col, ''), so "" and a missing value are the
 *   same there: `= ""`, `is not set`, and a "" inside `in` match both; `!=`,
 *   `not in` and `not like` also match documents without the field.
 * - `like` is SQL LIKE: % and _ are the only wildcards, a backslash is literal
 *   (Frappe doubles it), case-insensitive as under MariaDB's default collation.
 * - `between` on a date: a date-only upper bound covers that whole day
 *   (get_between_date_filter).
 * - filters are ANDed, or_filters ORed, and the OR group ANDed with the rest
 *   (build_conditions). Empty filters, fields or order_by are ignored.
 * - fields: a list, "*" for all, or a comma-separated string (parse_args);
 *   `tabUser`.`name` style names are accepted in fields and order_by, since
 *   Frappe clients send them. Frappe's aliases creation/modified are accepted
 *   for created_at/modified_at (the output key is the name asked for).
 * - order_by: "field [asc|desc], ..."; asc when omitted, as in SQL; Frappe's
 *   KEEP_DEFAULT_ORDERING marker means the default.
 * Where this differs: the default order is name (this service's, not
 * Frappe's `modified desc`); the default fields are all public ones (Frappe
 * returns only name); `=` is case-sensitive; a filter with more than four
 * items is refused (Frappe drops the rest silently); `like` does not apply to
 * dates; raw SQL strings in a filter list are refused.
 */
import { AppError, invalidParam } from '../errors.js';
import { emailOf, roleRows, splitFullName, type FrappeUserField } from './frappe-user.js';

export const USER_FIELDS = ['name', 'full_name', 'roles', 'enabled', 'created_at', 'modified_at'] as const;
export type UserField = (typeof USER_FIELDS)[number];

/** Every operator key the translator can write into a filter (the fuzz test checks this list). */
export const EMITTED_OPERATORS = ['$and', '$or', '$eq', '$ne', '$lt', '$gt', '$lte', '$gte', '$in', '$nin', '$regex', '$options', '$not'] as const;

type Kind = 'string' | 'roles' | 'boolean' | 'date';
const KIND: Record<UserField, Kind> = {
  name: 'string',
  full_name: 'string',
  roles: 'roles',
  enabled: 'boolean',
  created_at: 'date',
  modified_at: 'date',
};

/** Frappe's standard names for the same columns. */
const ALIASES: Record<string, UserField> = { creation: 'created_at', modified: 'modified_at' };

/** What stands for "not set" in each kind (Frappe's ifnull(col, '')). */
const EMPTY: Record<Kind, () => unknown[]> = {
  string: () => [null, ''],
  roles: () => [null, []],
  boolean: () => [null],
  date: () => [null],
};

const OPERATORS = ['=', '!=', '<', '>', '<=', '>=', 'like', 'not like', 'in', 'not in', 'is', 'between'] as const;
type Operator = (typeof OPERATORS)[number];
const COMPARISON: Partial<Record<Operator, string>> = { '<': '$lt', '>': '$gt', '<=': '$lte', '>=': '$gte' };

/** Frappe's DefaultOrderBy marker (frappe/database/utils.py): "the doctype's default order". */
const KEEP_DEFAULT_ORDERING = 'KEEP_DEFAULT_ORDERING';

/**
 * Each `%` inside a LIKE pattern becomes `[\s\S]*`, and each multiplies the
 * backtracking a failing match can cost on a backtracking regex engine: on
 * one 140-character value, V8 takes ~200 ms for three and ~3 ms for two, and
 * the local database took 2.5 ms per document for two (an outside tester
 * stalled it for seconds with 2,000 long names). So at most one is taken. A
 * leading or trailing `%` costs nothing: it just drops that anchor.
 */
const MAX_INNER_WILDCARDS = 1;
const MAX_PATTERN_LENGTH = 140;

export type Filter = Record<string, unknown>;

export interface Column {
  /** The key in the result: the name the caller asked for. */
  key: string;
  field: UserField;
}

export interface UserQuery {
  filter: Filter;
  sort: Record<string, 1 | -1>;
  projection: Record<string, 0 | 1>;
  columns: Column[];
  asDict: boolean;
}

interface Condition {
  field: UserField;
  operator: Operator;
  value: unknown;
  /** JSON pointers to the parts, for error messages. */
  at: { field: string; operator: string; value: string };
}

function invalid(path: string, message: string): AppError {
  return invalidParam(path, message);
}

/** RFC 6901: a key inside a JSON pointer. */
function pointer(base: string, key: string | number): string {
  return `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Empty or absent: Frappe skips these parameters. */
function isBlank(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);
}

/** A field name as Frappe clients write it: `name`, `tabUser`.`name`, tabUser.name. */
function fieldOf(raw: unknown, path: string): { key: string; field: UserField } {
  if (typeof raw !== 'string') throw invalid(path, 'must be a field name');
  const m = /^\s*(?:`?tabUser`?\.)?`?([A-Za-z_][A-Za-z0-9_]*)`?\s*$/.exec(raw);
  const key = m?.[1] ?? '';
  const field = (USER_FIELDS as readonly string[]).includes(key) ? (key as UserField) : Object.hasOwn(ALIASES, key) ? ALIASES[key] : undefined;
  if (!field) {
    throw invalid(path, `unknown field ${JSON.stringify(raw)}; known: ${USER_FIELDS.join(', ')}`);
  }
  return { key, field };
}

// ---------------------------------------------------------------- fields

function columnsOf(fields: unknown): Column[] {
  const all = USER_FIELDS.map((field) => ({ key: field, field }));
  if (isBlank(fields)) return all;
  let names: { raw: unknown; path: string }[];
  if (typeof fields === 'string') {
    // parse_args: "*" or "a, b" (the JSON form is decoded by the door).
    names = fields.split(',').map((raw) => ({ raw: raw.trim(), path: '/fields' }));
  } else if (Array.isArray(fields)) {
    names = fields.map((raw: unknown, i) => ({ raw, path: pointer('/fields', i) }));
  } else {
    throw invalid('/fields', 'must be a list of field names');
  }
  const columns: Column[] = [];
  const add = (c: Column) => {
    if (!columns.some((have) => have.key === c.key)) columns.push(c);
  };
  for (const { raw, path } of names) {
    if (typeof raw === 'string' && raw.trim() === '*') all.forEach(add);
    else add(fieldOf(raw, path));
  }
  return columns;
}

// ---------------------------------------------------------------- order_by

function sortOf(orderBy: unknown): Record<string, 1 | -1> {
  const sort: Record<string, 1 | -1> = {};
  if (!isBlank(orderBy) && orderBy !== KEEP_DEFAULT_ORDERING) {
    if (typeof orderBy !== 'string') throw invalid('/order_by', 'must be a string such as "modified_at desc, name asc"');
    for (const part of orderBy.split(',')) {
      const m = /^\s*(\S+?)(?:\s+(asc|desc))?\s*$/i.exec(part);
      if (!m) throw invalid('/order_by', `cannot read ${JSON.stringify(part.trim())}; write "field [asc|desc]"`);
      const { field } = fieldOf(m[1], '/order_by');
      if (field === 'roles') throw invalid('/order_by', 'roles is a list and cannot be sorted on');
      // A repeated key changes nothing in SQL; here it would change the direction.
      if (!(field in sort)) sort[field] = m[2]?.toLowerCase() === 'desc' ? -1 : 1;
    }
  }
  // name is unique: the order of equal keys is then fixed, so pages never overlap.
  if (!('name' in sort)) sort.name = 1;
  return sort;
}

// ---------------------------------------------------------------- filters

/** Every condition in one filters parameter, in Frappe's list or dict form. */
function conditionsOf(filters: unknown, base: string): Condition[] {
  if (isBlank(filters)) return [];
  if (isPlainObject(filters)) {
    return Object.entries(filters).map(([key, value]) => fromDictEntry(key, value, pointer(base, key)));
  }
  if (!Array.isArray(filters)) throw invalid(base, 'must be a list of [field, operator, value] or an object {field: value}');
  return filters.map((item, i) => {
    const at = pointer(base, i);
    if (isPlainObject(item)) {
      const entries = Object.entries(item);
      if (entries.length !== 1) throw invalid(at, 'a condition written as an object takes exactly one field');
      const [key, value] = entries[0]!;
      return fromDictEntry(key, value, pointer(at, key));
    }
    if (!Array.isArray(item) || (item.length !== 3 && item.length !== 4)) {
      throw invalid(at, 'must be [field, operator, value] or [doctype, field, operator, value]');
    }
    const offset = item.length - 3;
    let fieldRaw: unknown = item[offset];
    const fieldAt = pointer(at, offset);
    if (offset === 1) {
      const doctype: unknown = item[0];
      if (doctype === 'Has Role' && fieldRaw === 'role') fieldRaw = 'roles';
      else if (doctype !== 'User') throw invalid(pointer(at, 0), 'doctype must be "User" (or "Has Role" with the field "role")');
    }
    return condition(fieldRaw, item[offset + 1], item[offset + 2], {
      field: fieldAt,
      operator: pointer(at, offset + 1),
      value: pointer(at, offset + 2),
    });
  });
}

/** make_filter_tuple: {field: value} is "=", {field: [operator, value]} names the operator. */
function fromDictEntry(key: string, value: unknown, at: string): Condition {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw invalid(at, 'must be a value or [operator, value]');
    return condition(key, value[0], value[1], { field: at, operator: pointer(at, 0), value: pointer(at, 1) });
  }
  return condition(key, '=', value, { field: at, operator: at, value: at });
}

function condition(fieldRaw: unknown, operatorRaw: unknown, value: unknown, at: Condition['at']): Condition {
  const { field } = fieldOf(fieldRaw, at.field);
  if (operatorRaw !== null && typeof operatorRaw !== 'string') throw invalid(at.operator, 'must be an operator');
  const operator = (operatorRaw ?? '').trim().toLowerCase() || '=';
  if (!(OPERATORS as readonly string[]).includes(operator)) {
    throw invalid(at.operator, `unknown operator ${JSON.stringify(operatorRaw)}; known: ${OPERATORS.join(', ')}`);
  }
  return { field, operator: operator as Operator, value, at };
}

// ---------------------------------------------------------------- values

/** ISO 8601 or Frappe's "YYYY-MM-DD HH:MM:SS.ffffff"; no zone means UTC, as stored. */
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/i;

function parseDate(raw: string, path: string): { date: Date; dateOnly: boolean } {
  const m = DATE_RE.exec(raw.trim());
  if (!m) throw invalid(path, `${JSON.stringify(raw)} is not a date or date-time (YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM])`);
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  const realDay = day.getUTCFullYear() === Number(y) && day.getUTCMonth() === Number(mo) - 1 && day.getUTCDate() === Number(d);
  const ms = frac.padEnd(3, '0').slice(0, 3);
  const tz = zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}${tz}`);
  if (!realDay || Number.isNaN(date.getTime()) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw invalid(path, `${JSON.stringify(raw)} is not a valid date`);
  }
  return { date, dateOnly: m[4] === undefined };
}

/**
 * One value converted to the field's type; null stands for "not set" (a
 * missing value or "", as Frappe's ifnull makes them the same). The result is
 * always a scalar or a Date made here.
 */
function scalar(kind: Kind, v: unknown, path: string): string | boolean | Date | null {
  if (v === null || v === '') return null;
  switch (kind) {
    case 'string':
    case 'roles':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v); // cstr(), as Frappe does
      throw invalid(path, 'must be a string');
    case 'boolean':
      // A Check field: Frappe clients send 1/0.
      if (v === true || v === 1 || v === '1') return true;
      if (v === false || v === 0 || v === '0') return false;
      throw invalid(path, 'must be true, false, 1 or 0');
    case 'date':
      if (typeof v === 'string') return parseDate(v, path).date;
      throw invalid(path, 'must be a date string');
  }
}

/** The items of an `in` / `not in` value: a list, or a comma-separated string (trimmed, as Frappe). */
function listOf(kind: Kind, v: unknown, path: string): unknown[] {
  let items: { raw: unknown; path: string }[];
  if (v === null || v === undefined) items = [];
  else if (typeof v === 'string') items = v.split(',').map((raw) => ({ raw: raw.trim(), path }));
  else if (Array.isArray(v)) items = v.map((raw: unknown, i) => ({ raw: typeof raw === 'string' ? raw.trim() : raw, path: pointer(path, i) }));
  else throw invalid(path, 'must be a list or a comma-separated string');
  if (items.length === 0) items = [{ raw: '', path }]; // Frappe: in ('')
  const out: unknown[] = [];
  for (const { raw, path: p } of items) {
    const value = scalar(kind, raw, p);
    if (value === null) out.push(...EMPTY[kind]());
    else out.push(value);
  }
  return out;
}

/**
 * A LIKE pattern as an escaped, case-insensitive regex, anchored at each end
 * that has no `%`: a leading or trailing `%` just drops that anchor, which
 * also spares the backtracking a `^[\s\S]*` would cost.
 */
function likeRegex(pattern: string, path: string): string {
  if (pattern.length > MAX_PATTERN_LENGTH) throw invalid(path, `a like pattern takes at most ${MAX_PATTERN_LENGTH} characters`);
  let core = pattern.replace(/%+/g, '%');
  const lead = core.startsWith('%');
  if (lead) core = core.slice(1);
  const trail = core.endsWith('%');
  if (trail) core = core.slice(0, -1);
  const pieces = core.split('%');
  if (pieces.length - 1 > MAX_INNER_WILDCARDS) {
    throw invalid(path, `a like pattern takes at most ${MAX_INNER_WILDCARDS} % wildcards besides a leading and a trailing one`);
  }
  const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const body = pieces.map((piece) => piece.split('_').map(literal).join('[\\s\\S]')).join('[\\s\\S]*');
  return `${lead ? '' : '^'}${body}${trail ? '' : '$'}`;
}

/** One condition as a MongoDB filter on exactly one known field. */
function translate(c: Condition): Filter {
  const kind = KIND[c.field];
  const on = (expr: Record<string, unknown>): Filter => ({ [c.field]: expr });
  const single = () => {
    if (Array.isArray(c.value)) throw invalid(c.at.value, `must be a single value for ${c.operator}`);
    return scalar(kind, c.value, c.at.value);
  };
  switch (c.operator) {
    case '=': {
      const v = single();
      return on(v === null ? { $in: EMPTY[kind]() } : { $eq: v });
    }
    case '!=': {
      const v = single();
      return on(v === null ? { $nin: EMPTY[kind]() } : { $ne: v });
    }
    case '<':
    case '>':
    case '<=':
    case '>=': {
      if (kind === 'roles') throw invalid(c.at.operator, `${c.operator} does not apply to roles`);
      const v = single();
      if (v === null) throw invalid(c.at.value, `${c.operator} needs a value`);
      return on({ [COMPARISON[c.operator]!]: v });
    }
    case 'like':
    case 'not like': {
      if (kind !== 'string' && kind !== 'roles') throw invalid(c.at.operator, `${c.operator} applies only to name, full_name and roles`);
      const v = single() as string | null;
      // Frappe: ifnull(col, '') like '' matches exactly the unset ones.
      if (v === null) return on(c.operator === 'like' ? { $in: EMPTY[kind]() } : { $nin: EMPTY[kind]() });
      const regex = { $regex: likeRegex(v, c.at.value), $options: 'i' };
      return on(c.operator === 'like' ? regex : { $not: regex });
    }
    case 'in':
    case 'not in':
      return on({ [c.operator === 'in' ? '$in' : '$nin']: listOf(kind, c.value, c.at.value) });
    case 'is':
      if (c.value === 'set') return on({ $nin: EMPTY[kind]() });
      if (c.value === 'not set') return on({ $in: EMPTY[kind]() });
      throw invalid(c.at.value, 'must be "set" or "not set"');
    case 'between': {
      if (kind === 'roles') throw invalid(c.at.operator, 'between does not apply to roles');
      if (!Array.isArray(c.value) || c.value.length !== 2) throw invalid(c.at.value, 'must be [from, to]');
      const [fromRaw, toRaw] = c.value as unknown[];
      const from = scalar(kind, fromRaw, pointer(c.at.value, 0));
      const to = scalar(kind, toRaw, pointer(c.at.value, 1));
      if (from === null || to === null) throw invalid(c.at.value, 'between needs two values');
      // get_between_date_filter: a date-only upper bound means the end of that day.
      if (kind === 'date' && parseDate(toRaw as string, pointer(c.at.value, 1)).dateOnly) {
        return on({ $gte: from, $lt: new Date((to as Date).getTime() + 86_400_000) });
      }
      return on({ $gte: from, $lte: to });
    }
  }
}

// ---------------------------------------------------------------- all together

/**
 * The query for user.list's params. Throws AppError('invalid_params') with a
 * JSON pointer to the offending part for anything it cannot translate.
 */
export function userQuery(params: unknown): UserQuery {
  const p = isPlainObject(params) ? params : {};
  const and = conditionsOf(p.filters, '/filters').map(translate);
  const or = conditionsOf(p.or_filters, '/or_filters').map(translate);
  if (or.length > 0) and.push({ $or: or });
  const columns = columnsOf(p.fields);
  const asDict = p.as_dict ?? true;
  if (typeof asDict !== 'boolean') throw invalid('/as_dict', 'must be true or false');
  const projection: Record<string, 0 | 1> = { _id: 0 };
  for (const c of columns) projection[c.field] = 1;
  return {
    filter: and.length > 0 ? { $and: and } : {},
    sort: sortOf(p.order_by),
    projection,
    columns,
    asDict,
  };
}

/** One stored user as the caller asked for it: an object of the chosen fields, or their values in order. */
export function shapeUser(doc: Record<string, unknown>, query: Pick<UserQuery, 'columns' | 'asDict'>): Record<string, unknown> | unknown[] {
  const value = (field: UserField) => {
    const v = doc[field];
    return v instanceof Date ? v.toISOString() : v;
  };
  if (!query.asDict) return query.columns.map((c) => value(c.field));
  const out: Record<string, unknown> = {};
  for (const c of query.columns) out[c.key] = value(c.field);
  return out;
}

// ---------------------------------------------------------------- Frappe's User columns

/**
 * A list's columns under Frappe's User field names (frappe.client.get_list,
 * GET /api/resource/User), on top of the stored fields: email, first_name and
 * last_name are made from name and full_name (frappe-user.ts), enabled is
 * 1/0, roles are Has Role rows, creation and modified are the dates (and
 * created_at, modified_at are still read, under the name asked for). Frappe's
 * default is the name alone; "*" is every column of its tabUser this service
 * has (roles are a child table, so only when asked for, as in Frappe), with
 * api_key where the caller can look it up.
 */
export interface FrappeColumn {
  /** The key in the result: the name the caller asked for. */
  key: string;
  source: FrappeUserField;
}

const FRAPPE_SOURCES: Record<string, { source: FrappeUserField; reads: UserField }> = {
  name: { source: 'name', reads: 'name' },
  email: { source: 'email', reads: 'name' },
  first_name: { source: 'first_name', reads: 'full_name' },
  last_name: { source: 'last_name', reads: 'full_name' },
  full_name: { source: 'full_name', reads: 'full_name' },
  enabled: { source: 'enabled', reads: 'enabled' },
  roles: { source: 'roles', reads: 'roles' },
  api_key: { source: 'api_key', reads: 'name' },
  creation: { source: 'creation', reads: 'created_at' },
  created_at: { source: 'creation', reads: 'created_at' },
  modified: { source: 'modified', reads: 'modified_at' },
  modified_at: { source: 'modified', reads: 'modified_at' },
};
const FRAPPE_STAR: readonly string[] = ['name', 'email', 'first_name', 'last_name', 'full_name', 'enabled', 'creation', 'modified'];

export interface FrappeColumns {
  columns: FrappeColumn[];
  /** The stored fields to read for them. */
  reads: UserField[];
  /** Whether a column is api_key (the caller then looks the keys up). */
  apiKey: boolean;
}

/** `fields` as Frappe's columns; `apiKey`: whether api_key may be asked for (and "*" includes it). */
export function frappeColumns(fields: unknown, opts: { apiKey: boolean }): FrappeColumns {
  const known = Object.keys(FRAPPE_SOURCES).filter((k) => opts.apiKey || k !== 'api_key');
  const star = opts.apiKey ? [...FRAPPE_STAR, 'api_key'] : FRAPPE_STAR;
  let names: { raw: unknown; path: string }[];
  if (isBlank(fields)) names = [{ raw: 'name', path: '/fields' }];
  else if (typeof fields === 'string') names = fields.split(',').map((raw) => ({ raw: raw.trim(), path: '/fields' }));
  else if (Array.isArray(fields)) names = fields.map((raw: unknown, i) => ({ raw, path: pointer('/fields', i) }));
  else throw invalid('/fields', 'must be a list of field names');
  const columns: FrappeColumn[] = [];
  const add = (key: string) => {
    if (!columns.some((c) => c.key === key)) columns.push({ key, source: FRAPPE_SOURCES[key]!.source });
  };
  for (const { raw, path } of names) {
    if (typeof raw === 'string' && raw.trim() === '*') {
      star.forEach(add);
      continue;
    }
    const m = typeof raw === 'string' ? /^\s*(?:`?tabUser`?\.)?`?([A-Za-z_][A-Za-z0-9_]*)`?\s*$/.exec(raw) : null;
    const key = m?.[1] ?? '';
    if (!known.includes(key)) throw invalid(path, `unknown field ${JSON.stringify(raw)}; known: ${known.join(', ')}`);
    add(key);
  }
  const reads = [...new Set(columns.map((c) => FRAPPE_SOURCES[c.key]!.reads))];
  const apiKey = columns.some((c) => c.source === 'api_key');
  return { columns, reads, apiKey };
}

/** One row read with `reads` (dates as ISO strings, as shapeUser gives them) in Frappe's shape. */
export function frappeRow(
  row: Record<string, unknown>,
  columns: readonly FrappeColumn[],
  asDict: boolean,
  apiKeys?: ReadonlyMap<string, string>,
): Record<string, unknown> | unknown[] {
  const name = row.name as string;
  const names = () => splitFullName((row.full_name as string | undefined) ?? '');
  const value = (source: FrappeUserField): unknown => {
    switch (source) {
      case 'name':
        return name;
      case 'email':
        return emailOf(name);
      case 'first_name':
        return names().first_name;
      case 'last_name':
        return names().last_name;
      case 'full_name':
        return row.full_name;
      case 'enabled':
        return row.enabled ? 1 : 0;
      case 'roles':
        return roleRows((row.roles as string[] | undefined) ?? []);
      case 'api_key':
        return apiKeys?.get(name) ?? null;
      case 'creation':
        return row.created_at;
      case 'modified':
        return row.modified_at;
    }
  };
  if (!asDict) return columns.map((c) => value(c.source));
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c.key] = value(c.source);
  return out;
}
