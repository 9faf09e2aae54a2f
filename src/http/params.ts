/**
 * A REST request's params, the way Frappe builds its form_dict
 * (make_form_dict in frappe/app.py): the query string and form fields, or a
 * JSON body when the content type is JSON. `_` (jQuery's cache buster) and
 * `cmd` (old clients' method name) are noise and dropped.
 *
 * Query-string and form values are text; each is turned into the type the
 * method's params schema declares for it (following $ref into common.json):
 * integers and numbers, booleans as 1/0/true/false in any case (Python's
 * requests sends True/False, Frappe's sbool reads both), "null" where null is
 * allowed, and arrays and objects JSON-decoded, since Frappe clients
 * json.dumps them. A value that does not convert stays text, so ajv reports
 * its path ("/limit: must be integer").
 *
 * JSON values are typed already, with one exception: 0 and 1 where the schema
 * says boolean (and no number) are read as false and true. Frappe stores
 * Check fields as 0/1 and its clients send them so ({"enabled": 0}); Frappe
 * itself casts them on save (BaseDocument._fix_numeric_types in
 * frappe/model/base_document.py: cint() on every Check field).
 * Only on this door: the JSON-RPC door stays strict.
 *
 * A `token` in the query string never gets here: the pipeline refuses it
 * (steps/url-secret.ts). A body is fine.
 */
import type { IncomingMessage } from 'node:http';
import { AppError, invalidParam } from '../errors.js';
import { resolveRef, type JsonSchema, type SchemaSet } from '../rpc/schemas.js';
import { echoable } from './echo.js';

export const NOISE = new Set(['cmd', '_']);

/** What the request carried, before any coercion. */
export interface Input {
  /** Query-string and form fields: the first value of a repeated name; a form field over a query one (as Frappe). */
  fields: Map<string, string>;
  /** A JSON body's members, already typed; undefined when there was no JSON body. */
  json: Record<string, unknown> | undefined;
  /** The form's or query string's `cmd` (dropped from fields): the method an old client names when it posts to /. */
  cmd?: string;
}

export function readInput(req: IncomingMessage, query: string, body: string): Input {
  const fields = new Map<string, string>();
  addFields(fields, query);
  let json: Record<string, unknown> | undefined;
  if (body.trim() !== '') {
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (isJson(type)) json = jsonObject(body);
    else if (type === 'application/x-www-form-urlencoded') {
      const form = new Map<string, string>();
      addFields(form, body);
      for (const [k, v] of form) fields.set(k, v);
    } else {
      // Checked whole, before it is cut short: a cut could keep most of a secret.
      const shown = echoable(type) === undefined ? '' : ` ${JSON.stringify(type.slice(0, 60))}`;
      throw new AppError(
        'unsupported_media_type',
        `Unsupported content type${shown}: send application/x-www-form-urlencoded or application/json (multipart/form-data is not read)`,
      );
    }
  }
  const cmd = fields.get('cmd');
  for (const noise of NOISE) fields.delete(noise);
  return { fields, json, cmd };
}

/** werkzeug's Request.is_json: application/json or any application/*+json. */
function isJson(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function addFields(into: Map<string, string>, text: string): void {
  for (const [k, v] of new URLSearchParams(text)) if (!into.has(k)) into.set(k, v);
}

function jsonObject(body: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new AppError('parse_error', 'The request body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidParam('/', 'the JSON body must be an object');
  }
  return value as Record<string, unknown>;
}

/** JSON types a value may have; undefined: the schema does not say. */
type Types = ReadonlySet<string> | undefined;

/** Reads a method's params schema once, then types its text values. */
export class Coercer {
  private readonly byMethod = new Map<string, Map<string, Types>>();

  constructor(private readonly schemas: SchemaSet) {}

  /**
   * The input as one params object: typed fields, then the JSON body's
   * members; a name given both ways is an error rather than a silent pick.
   * Built from a Map so a field named __proto__ is an own property (that
   * ajv then refuses as unknown), never the object's prototype.
   */
  params(method: string, input: Input): Record<string, unknown> {
    const out = this.coerce(method, input.fields);
    if (input.json) {
      for (const [k, v] of Object.entries(input.json)) {
        if (NOISE.has(k)) continue;
        if (out.has(k)) throw invalidParam(`/${k}`, 'given twice (in the URL or form and in the JSON body)');
        out.set(k, this.fromJson(method, k, v));
      }
    }
    return Object.fromEntries(out);
  }

  /** A JSON document (data=<json>) with its Check fields read as booleans; built from entries, so __proto__ stays an own property. */
  document(method: string, doc: object): Record<string, unknown> {
    return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, this.fromJson(method, k, v)]));
  }

  /** A JSON value: 0 or 1 where the schema says boolean and no number is false or true; anything else as sent. */
  fromJson(method: string, name: string, v: unknown): unknown {
    if (v !== 0 && v !== 1) return v;
    const types = this.propertyTypes(method).get(name);
    return types?.has('boolean') && !types.has('integer') && !types.has('number') ? v === 1 : v;
  }

  /** Whether the method's params schema declares `name`. */
  knows(method: string, name: string): boolean {
    return this.propertyTypes(method).has(name);
  }

  coerce(method: string, fields: ReadonlyMap<string, string>): Map<string, unknown> {
    const types = this.propertyTypes(method);
    const out = new Map<string, unknown>();
    for (const [k, v] of fields) out.set(k, coerceValue(v, types.get(k)));
    return out;
  }

  /** The largest value a method's params allow for `property` (its schema's maximum), if any. */
  maximum(method: string, property: string): number | undefined {
    const prop = this.root(method).properties?.[property];
    const max = prop === undefined ? undefined : this.resolve(prop as JsonSchema, `${method}.params.json`).schema?.maximum;
    return typeof max === 'number' ? max : undefined;
  }

  private root(method: string): JsonSchema {
    const schema = this.schemas.raw.get(`${method}.params.json`);
    if (!schema) throw new Error(`no params schema for ${method}`);
    return schema;
  }

  private propertyTypes(method: string): Map<string, Types> {
    let types = this.byMethod.get(method);
    if (!types) {
      types = new Map();
      const base = `${method}.params.json`;
      for (const [name, prop] of Object.entries(this.root(method).properties ?? {})) {
        types.set(name, this.typesOf(prop as JsonSchema, base, 0));
      }
      this.byMethod.set(method, types);
    }
    return types;
  }

  private typesOf(schema: JsonSchema, base: string, depth: number): Types {
    if (depth > 20) return undefined;
    if (typeof schema.$ref === 'string') {
      const target = this.resolve(schema, base);
      return target.schema ? this.typesOf(target.schema, target.base, depth + 1) : undefined;
    }
    const found = new Set<string>();
    const type = schema.type as string | string[] | undefined;
    if (type !== undefined) for (const t of Array.isArray(type) ? type : [type]) found.add(t);
    if ('const' in schema) found.add(jsonType(schema.const));
    if (Array.isArray(schema.enum)) for (const v of schema.enum) found.add(jsonType(v));
    // Alternatives: the union of what each allows. if/then/else is one too
    // (`if` only picks the branch); a missing branch or one without types allows anything.
    const alternatives = [schema.oneOf, schema.anyOf, 'if' in schema ? [schema.then ?? {}, schema.else ?? {}] : undefined];
    for (const branches of alternatives) {
      if (!Array.isArray(branches)) continue;
      for (const branch of branches) {
        const sub = this.typesOf(branch as JsonSchema, base, depth + 1);
        if (sub === undefined) return undefined;
        for (const t of sub) found.add(t);
      }
    }
    // allOf: each member narrows; a member without types does not.
    if (Array.isArray(schema.allOf)) {
      for (const member of schema.allOf) {
        const sub = this.typesOf(member as JsonSchema, base, depth + 1);
        if (sub === undefined) continue;
        if (found.size === 0) for (const t of sub) found.add(t);
        else for (const t of found) if (!sub.has(t)) found.delete(t);
      }
    }
    return found.size > 0 ? found : undefined;
  }

  /** Follows $ref chains: "common.json#/definitions/x" or "#/definitions/x" (within `base`). */
  private resolve(schema: JsonSchema, base: string): { schema: JsonSchema | undefined; base: string } {
    let current: JsonSchema | undefined = schema;
    let file = base;
    for (let hops = 0; current && typeof current.$ref === 'string' && hops < 20; hops++) {
      const target = resolveRef(this.schemas.raw, current.$ref, file);
      file = target.file;
      current = target.node as JsonSchema | undefined;
    }
    return { schema: current, base: file };
  }
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function fits(v: unknown, types: ReadonlySet<string>): boolean {
  const t = jsonType(v);
  return types.has(t) || (t === 'integer' && types.has('number'));
}

const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
const BOOLEANS = new Map([
  ['true', true],
  ['1', true],
  ['false', false],
  ['0', false],
]);

/** One text value -> the first reading its schema allows; else the text itself. */
function coerceValue(raw: string, types: Types): unknown {
  if (types === undefined) return raw;
  if (raw === 'null' && types.has('null')) return null;
  if (types.has('boolean')) {
    const b = BOOLEANS.get(raw.toLowerCase());
    if (b !== undefined) return b;
  }
  if ((types.has('integer') || types.has('number')) && NUMBER.test(raw)) {
    const n = Number(raw);
    if (fits(n, types)) return n;
  }
  if (types.has('array') || types.has('object')) {
    // JSON-decoded, as Frappe's document_list decodes `fields`: where text is
    // allowed too, '"*"' is the text *, and text that is not JSON stays as sent.
    try {
      const v: unknown = JSON.parse(raw);
      if (fits(v, types)) return v;
    } catch {
      // not JSON: stays text
    }
  }
  return raw;
}
