/**
 * Loads every JSON Schema in schemas/ into one Ajv instance (draft-07, so the
 * same files can feed an OpenRPC document), compiled once at start.
 */
import type { ParamProblem } from '../errors.js';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { schemasDir } from '../paths.js';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

export interface JsonSchema {
  $id?: string;
  type?: string;
  properties?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface SchemaSet {
  ajv: Ajv;
  raw: Map<string, JsonSchema>;
  validator(id: string): ValidateFunction;
}

let loaded: SchemaSet | undefined;

/**
 * The schemas, read and compiled on first use, then shared: the files do not
 * change while the process runs, so the dispatcher, discovery and every
 * service a test starts use one compiled set.
 */
export function loadSchemas(): SchemaSet {
  return (loaded ??= compileSchemas(schemasDir));
}

function compileSchemas(dir: string): SchemaSet {
  // allErrors stays off (ajv's own security advice: bounded work per request).
  // unicodeRegExp is ajv's default, stated because common.json's patterns use
  // \p{...} property escapes: without the u flag they would match the letter p.
  const ajv = new Ajv({ allErrors: false, strict: true, unicodeRegExp: true });
  addFormats(ajv);
  const raw = new Map<string, JsonSchema>();
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const schema = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as JsonSchema;
    if (schema.$id !== file) throw new Error(`schemas/${file}: $id must be "${file}"`);
    ajv.addSchema(schema);
    raw.set(file, schema);
  }
  return {
    ajv,
    raw,
    validator(id) {
      const v = ajv.getSchema(id);
      if (!v) throw new Error(`missing schema schemas/${id}`);
      return v;
    },
  };
}

/**
 * Where a `$ref` of a schema in file `base` points: "other.json#/a/b", or
 * "#/a/b" within `base`, the fragment a JSON pointer (percent- and
 * ~-escaped). `node` is undefined when the file or the pointer names nothing.
 */
export function resolveRef(raw: ReadonlyMap<string, JsonSchema>, ref: string, base: string): { file: string; pointer: string[]; node: unknown } {
  const [target = '', fragment = ''] = ref.split('#', 2);
  const file = target || base;
  const pointer = fragment
    .split('/')
    .filter(Boolean)
    .map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = raw.get(file);
  for (const part of pointer) node = (node as Record<string, unknown> | undefined)?.[part];
  return { file, pointer, node };
}

export type { ParamProblem } from '../errors.js';

/** Ajv's errors as `{path, message}` pairs a person can read. */
export function describeErrors(errors: ErrorObject[] | null | undefined): ParamProblem[] {
  return (errors ?? []).map((e) => {
    const extra =
      e.keyword === 'required'
        ? `/${(e.params as { missingProperty: string }).missingProperty}`
        : e.keyword === 'additionalProperties'
          ? `/${(e.params as { additionalProperty: string }).additionalProperty}`
          : '';
    const message = e.keyword === 'additionalProperties' ? 'is not a known parameter' : (e.message ?? 'is invalid');
    return { path: e.instancePath + extra || '/', message };
  });
}
