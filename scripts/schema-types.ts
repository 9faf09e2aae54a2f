/**
 * Writes src/rpc/schema-types.ts: the TypeScript types of every method's
 * params and result, generated from the JSON Schema files in schemas/, so
 * that a schema change a handler does not follow fails `tsc`.
 *
 *   node --import tsx scripts/schema-types.ts           write the file
 *   node --import tsx scripts/schema-types.ts --check   fail if the file is not what the schemas make
 *
 * Why this way: schemas/ stays the one source. The files are plain JSON
 * Schema (ajv validates with them, rpc.discover publishes them), so the
 * types are generated from them rather than written beside them (they
 * drifted) or inferred from `as const` copies (json-schema-to-ts; the copies
 * would be a second source). The generator is json-schema-to-typescript
 * (a dev dependency, run at build time only). The generated file is
 * committed, so it reads in review and editors without a build;
 * `npm run typecheck` (so `npm test`) and `npm run build` run this script
 * with --check first, and test/schema-types.test.ts compares too, so a stale
 * file fails them: run `npm run schema-types` after changing a schema.
 *
 * The schema files point into each other (`common.json#/definitions/user`).
 * They are put together as one schema first: every definition under one
 * `definitions` (common.json's under their own names, another file's under
 * `<file>.<name>`), each method file as `<method>.params` / `<method>.result`,
 * and a root object `MethodTypes` with one `{params, result}` per method.
 * So each shared definition becomes one named type (UserName, KeyInfo, ...)
 * and the method types are named after their titles (AuthKeysGetParams).
 * Array lengths are not turned into tuples (ignoreMinAndMaxItems); keywords
 * TypeScript cannot say (patterns, formats, if/then/else) leave the type as
 * wide as their base type, and unknown where there is none.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { loadSchemas, resolveRef, type JsonSchema } from '../src/rpc/schemas.js';

export const OUTPUT = fileURLToPath(new URL('../src/rpc/schema-types.ts', import.meta.url));

const COMMON = 'common.json';
const SUFFIX = /\.(params|result)\.json$/;

const BANNER = `/**
 * GENERATED from schemas/*.json by scripts/schema-types.ts: do not edit.
 * After changing a schema, run \`npm run schema-types\`; \`npm test\` and
 * \`npm run build\` fail while this file is stale.
 *
 * MethodTypes maps each method's name to its params and result types.
 */`;

type Schema = Record<string, unknown>;

/** The key a definition of `file` gets in the combined schema. */
function definitionKey(file: string, name: string): string {
  return file === COMMON ? name : `${file.replace(/\.json$/, '')}.${name}`;
}

/** Keywords whose value is one schema, an array of schemas, or a map of names to schemas. */
const ONE = new Set(['additionalProperties', 'items', 'not', 'propertyNames', 'contains', 'additionalItems']);
const MANY = new Set(['allOf', 'anyOf', 'oneOf']);
const MAP = new Set(['properties', 'patternProperties', 'definitions']);
/** Keywords json-schema-to-typescript reads a type from; a schema with none of them allows any value. */
const TYPED = ['type', '$ref', 'enum', 'const', 'allOf', 'anyOf', 'oneOf', 'properties', 'patternProperties', 'additionalProperties', 'items', 'tsType'];

/**
 * A copy of schema `node` (from `file`) as json-schema-to-typescript should
 * read it, saying the same about the values it allows, or more:
 * - each `$ref` points into the combined schema's definitions;
 * - a `$ref` with other keywords beside it (a description) becomes
 *   `allOf: [{$ref}]` beside them, so it stays the named type (the
 *   generator would otherwise merge it into a copy, a second type);
 * - `if`/`then`/`else` becomes `anyOf: [then, else]`: every value the
 *   schema admits satisfies one of them (the generator ignores `if`);
 * - a schema that names no type (only a description, or only `if`) is
 *   `unknown`: the generator would make it an object.
 */
function convert(raw: ReadonlyMap<string, JsonSchema>, node: unknown, file: string): unknown {
  if (typeof node === 'boolean') return node;
  if (node === null || typeof node !== 'object' || Array.isArray(node)) throw new Error(`schemas/${file}: a schema must be an object or a boolean`);
  const { if: _if, then, else: otherwise, ...rest } = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(rest)) {
    if (k === '$ref') out[k] = target(raw, v, file);
    else if (ONE.has(k) && !Array.isArray(v)) out[k] = convert(raw, v, file);
    else if ((MANY.has(k) || k === 'items') && Array.isArray(v)) out[k] = v.map((s) => convert(raw, s, file));
    else if (MAP.has(k) && v !== null && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, convert(raw, s, file)]));
    } else out[k] = v;
  }
  if (_if !== undefined && then !== undefined && otherwise !== undefined) {
    const either = { anyOf: [convert(raw, then, file), convert(raw, otherwise, file)] };
    if (out.anyOf === undefined) Object.assign(out, either);
    else out.allOf = [...((out.allOf as unknown[] | undefined) ?? []), either];
  }
  if (typeof out.$ref === 'string' && Object.keys(out).some((k) => k !== '$ref' && k !== '$comment')) {
    const { $ref, ...beside } = out;
    return { ...beside, allOf: [{ $ref }, ...((beside.allOf as unknown[] | undefined) ?? [])] };
  }
  if (!TYPED.some((k) => k in out)) out.tsType = 'unknown';
  return out;
}

/** Where `ref` (in `file`) points in the combined schema. */
function target(raw: ReadonlyMap<string, JsonSchema>, ref: unknown, file: string): string {
  if (typeof ref !== 'string') throw new Error(`schemas/${file}: $ref must be a string`);
  const { file: to, pointer, node } = resolveRef(raw, ref, file);
  if (node === undefined) throw new Error(`schemas/${file}: $ref "${ref}" names nothing`);
  if (pointer.length === 0 && SUFFIX.test(to)) return `#/definitions/${to.replace(/\.json$/, '')}`;
  if (pointer.length === 2 && pointer[0] === 'definitions') return `#/definitions/${definitionKey(to, pointer[1]!)}`;
  throw new Error(`schemas/${file}: $ref "${ref}" must name a definition or a method's schema file`);
}

/** All of schemas/ as one schema whose root is MethodTypes. */
export function combinedSchema(raw: ReadonlyMap<string, JsonSchema>): JSONSchema {
  const definitions: Schema = {};
  const methods: Schema = {};
  for (const [file, schema] of raw) {
    const { $schema: _s, $id: _i, definitions: own, ...rest } = schema;
    for (const [name, def] of Object.entries((own as Schema | undefined) ?? {})) {
      definitions[definitionKey(file, name)] = convert(raw, def, file);
    }
    if (file === COMMON) continue;
    const kind = SUFFIX.exec(file)?.[1];
    if (kind === undefined) throw new Error(`schemas/${file}: expected <method>.params.json or <method>.result.json`);
    const key = file.replace(/\.json$/, '');
    definitions[key] = convert(raw, rest, file);
    const name = file.replace(SUFFIX, '');
    methods[name] = {
      type: 'object',
      additionalProperties: false,
      required: ['params', 'result'],
      properties: { params: { $ref: `#/definitions/${name}.params` }, result: { $ref: `#/definitions/${name}.result` } },
    };
  }
  for (const name of Object.keys(methods)) {
    for (const kind of ['params', 'result']) {
      if (!raw.has(`${name}.${kind}.json`)) throw new Error(`schemas/${name}.${kind}.json is missing`);
    }
  }
  return {
    title: 'MethodTypes',
    description: "Each method's params and result, by method name.",
    type: 'object',
    additionalProperties: false,
    required: Object.keys(methods),
    properties: methods as JSONSchema['properties'],
    definitions: definitions as JSONSchema['definitions'],
  };
}

/** The text of src/rpc/schema-types.ts for the schemas in `raw`. */
export async function generate(raw: ReadonlyMap<string, JsonSchema> = loadSchemas().raw): Promise<string> {
  return compile(combinedSchema(raw), 'MethodTypes', {
    bannerComment: BANNER,
    // Every file says additionalProperties itself where it matters; where it
    // does not, JSON Schema's default (anything more is allowed) stands.
    additionalProperties: true,
    ignoreMinAndMaxItems: true,
    unreachableDefinitions: true,
    strictIndexSignatures: true,
    unknownAny: true,
    format: true,
    // The schema is whole already; nothing is fetched or read from disk.
    $refOptions: { resolve: { file: false, http: false } },
  });
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const text = await generate();
  const current = fs.existsSync(OUTPUT) ? fs.readFileSync(OUTPUT, 'utf8') : '';
  const shown = path.relative(process.cwd(), OUTPUT);
  if (current === text) return;
  if (check) {
    console.error(`${shown} is stale: the schemas in schemas/ have changed since it was made. Run \`npm run schema-types\` and commit it.`);
    process.exit(1);
  }
  fs.writeFileSync(OUTPUT, text);
  console.log(`wrote ${shown}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
