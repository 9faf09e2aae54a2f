/**
 * A user as Frappe's clients see a User document, and back. Pure: no database.
 *
 * Out (the REST door's documents and rows, and frappe.client.*):
 *
 *   doctype     "User"
 *   name        the user's name
 *   email       the name when it is an email address, else null
 *   first_name  full_name's first word
 *   last_name   the rest of full_name, null when it has one word
 *   full_name
 *   enabled     1 or 0 (a Check field)
 *   roles       [{"role": "System Manager"}, ...]: Frappe's Has Role table
 *   api_key     the key's public half, null without one (only where the
 *               caller looked it up: frappe.client.*); never the secret
 *   creation, modified   ISO 8601
 *
 * In: the same names. roles as Has Role rows or plain strings; enabled as
 * 1/0, "1"/"0" or true/false; the name may come as email (Frappe names a User
 * by its email); first_name and last_name make full_name. Bookkeeping that a
 * document read back carries (doctype, creation, modified, owner, ...) is
 * ignored; api_key only when it is the user's own, unchanged. Anything else
 * is refused by name rather than dropped: User has many fields in Frappe
 * (new_password, user_type, language, ...) and ignoring one would answer a
 * question that was not asked.
 *
 * Values it does not recognise pass through unchanged, so user.create's and
 * user.update's schemas refuse them with their usual paths and messages.
 */
import { AppError, invalidParam } from '../errors.js';
import type { PublicUser } from './users.js';

export const DOCTYPE = 'User';
/** Frappe's child table of roles. */
export const HAS_ROLE = 'Has Role';

export interface RoleRow {
  role: string;
}

export interface FrappeUser {
  doctype: typeof DOCTYPE;
  name: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  full_name: string;
  enabled: 0 | 1;
  roles: RoleRow[];
  api_key?: string | null;
  creation: string;
  modified: string;
}

/** The fields a Frappe user has here, in document order (api_key only where looked up). */
export const FRAPPE_USER_FIELDS = ['name', 'email', 'first_name', 'last_name', 'full_name', 'enabled', 'roles', 'api_key', 'creation', 'modified'] as const;
export type FrappeUserField = (typeof FRAPPE_USER_FIELDS)[number];

/** Read-only bookkeeping of a Frappe document (frappe.model.default_fields and the client's own). */
const BOOKKEEPING = new Set([
  'doctype',
  'creation',
  'modified',
  'created_at',
  'modified_at',
  'owner',
  'modified_by',
  'docstatus',
  'idx',
  'flags',
  '__islocal',
  '__unsaved',
  '__last_sync_on',
]);
/** Bookkeeping of a Has Role row, ignored on input. */
const ROW_BOOKKEEPING = new Set(['doctype', 'name', 'idx', 'parent', 'parentfield', 'parenttype', 'owner', 'creation', 'modified', 'modified_by', 'docstatus']);

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export function emailOf(name: string): string | null {
  return EMAIL.test(name) ? name : null;
}

/** full_name as Frappe's two name fields: its first word, and the rest (null when there is none). */
export function splitFullName(fullName: string): { first_name: string | null; last_name: string | null } {
  const trimmed = fullName.trim();
  if (trimmed === '') return { first_name: null, last_name: null };
  const at = trimmed.search(/\s/);
  if (at < 0) return { first_name: trimmed, last_name: null };
  return { first_name: trimmed.slice(0, at), last_name: trimmed.slice(at).trim() || null };
}

/** Frappe's set_full_name: the parts that are set, joined by a space. */
function joinNames(first: unknown, last: unknown): unknown {
  const parts = [first, last].filter((p) => p !== null && p !== undefined && p !== '');
  // A part that is not text passes through, for the schema to refuse.
  if (parts.some((p) => typeof p !== 'string')) return parts.find((p) => typeof p !== 'string');
  return parts.map((p) => (p as string).trim()).join(' ');
}

export function roleRows(roles: readonly string[]): RoleRow[] {
  return roles.map((role) => ({ role }));
}

/** A user (as user.get answers it) as Frappe's User document; `apiKey` undefined leaves api_key out. */
export function frappeUser(u: PublicUser, apiKey?: string | null): FrappeUser {
  const doc: FrappeUser = {
    doctype: DOCTYPE,
    name: u.name,
    email: emailOf(u.name),
    ...splitFullName(u.full_name),
    full_name: u.full_name,
    enabled: u.enabled ? 1 : 0,
    roles: roleRows(u.roles),
    creation: u.created_at,
    modified: u.modified_at,
  };
  if (apiKey !== undefined) doc.api_key = apiKey;
  return doc;
}

function invalid(path: string, message: string): AppError {
  return invalidParam(path, message);
}

/** 1/0, "1"/"0", true/false as a boolean; anything else as it came. */
function check(v: unknown): unknown {
  if (v === 1 || v === '1' || v === true) return true;
  if (v === 0 || v === '0' || v === false) return false;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  return v;
}

/** Has Role rows or plain names (or their JSON text, as a form sends them) as role names; else as it came. */
function roleNames(v: unknown, path: string): unknown {
  let list = v;
  if (typeof list === 'string' && list.trim().startsWith('[')) {
    try {
      list = JSON.parse(list);
    } catch {
      return v;
    }
  }
  if (!Array.isArray(list)) return v;
  return list.map((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const row = item as Record<string, unknown>;
    for (const key of Object.keys(row)) {
      if (key === 'role' || ROW_BOOKKEEPING.has(key)) continue;
      throw invalid(`${path}/${i}/${key}`, 'is not a field of a Has Role row (role)');
    }
    if (row.doctype !== undefined && row.doctype !== HAS_ROLE) throw invalid(`${path}/${i}/doctype`, `must be "${HAS_ROLE}"`);
    if (!('role' in row)) throw invalid(`${path}/${i}/role`, 'is required');
    return row.role;
  });
}

/** What a Frappe document asks to store: user.create's or user.update's params (without name). */
export interface UserFields {
  full_name?: unknown;
  roles?: unknown;
  enabled?: unknown;
}

export interface Current {
  name: string;
  full_name: string;
  roles: readonly string[];
  enabled: boolean;
  /** The user's api_key, null without one; undefined when not looked up (the REST door). */
  api_key?: string | null;
}

const KNOWN = 'name, email, first_name, last_name, full_name, enabled, roles';

/**
 * A Frappe User document, or some of its fields, as the fields to store.
 *
 * `current` is the user as stored, for an update; undefined for a new user.
 * With it, first_name and last_name are compared with the ones full_name
 * gives now, so a document read, changed in one place and sent back changes
 * that place: a new first_name or last_name makes full_name (as Frappe's
 * set_full_name does), else a new full_name is taken. Without it (the REST
 * door, which maps onto user.update), a full_name that is sent wins, and
 * first_name and last_name make it only when it is not sent; an `update`
 * then needs both, since the other half is in the stored full_name.
 *
 * Returns the name the document gives (name, or email) and the fields.
 */
export function userFromFrappe(
  doc: Record<string, unknown>,
  opts: { current?: Current; update?: boolean; base?: string } = {},
): { name?: unknown; fields: UserFields } {
  const { current, base = '' } = opts;
  const fields: UserFields = {};
  let name: unknown;
  for (const [key, value] of Object.entries(doc)) {
    const at = `${base}/${key}`;
    switch (key) {
      case 'name':
        name = value;
        break;
      case 'email':
        if (value === null || value === undefined || value === '') break;
        if (doc.name !== undefined && doc.name !== value)
          throw invalid(at, "must be the user's name: a user is named by its email, and renaming is not supported");
        name = value;
        break;
      case 'full_name':
      case 'first_name':
      case 'last_name':
        break; // below, together
      case 'enabled':
        fields.enabled = check(value);
        break;
      case 'roles':
        fields.roles = roleNames(value, at);
        break;
      case 'api_key':
        if (value === null || value === undefined || value === '' || (current?.api_key !== undefined && value === current.api_key)) break;
        throw invalid(at, 'is issued by frappe.core.doctype.user.user.generate_keys, never set');
      case 'api_secret':
        throw invalid(at, 'is issued by frappe.core.doctype.user.user.generate_keys, never set, and never shown again');
      default:
        if (BOOKKEEPING.has(key)) break;
        throw invalid(at, `is not a field of User here (known: ${KNOWN})`);
    }
  }
  const fullName = fullNameOf(doc, current, opts.update === true, base);
  if (fullName !== undefined) fields.full_name = fullName;
  return name === undefined ? { fields } : { name, fields };
}

function fullNameOf(doc: Record<string, unknown>, current: Current | undefined, update: boolean, base: string): unknown {
  const has = (k: string) => doc[k] !== undefined;
  if (!has('first_name') && !has('last_name')) return doc.full_name;
  if (!current && update && !has('full_name') && !(has('first_name') && has('last_name'))) {
    // The other half is in the stored full_name, which is not read here.
    throw invalid(`${base}/${has('first_name') ? 'last_name' : 'first_name'}`, 'is required with it: send full_name, or both first_name and last_name');
  }
  if (current) {
    const now = splitFullName(current.full_name);
    const first = has('first_name') ? doc.first_name : now.first_name;
    const last = has('last_name') ? doc.last_name : now.last_name;
    const partsChanged = (first ?? null) !== now.first_name || (last ?? null) !== now.last_name;
    if (partsChanged) return joinNames(first, last);
    return doc.full_name;
  }
  if (has('full_name')) return doc.full_name;
  const joined = joinNames(doc.first_name, doc.last_name);
  return joined === '' ? undefined : joined;
}
