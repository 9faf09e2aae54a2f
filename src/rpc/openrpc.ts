/**
 * The OpenRPC document `rpc.discover` answers, built from the method table
 * and the schema files alone, so it says what the dispatcher enforces and
 * cannot drift from it (test/methods/rpc.discover.test.ts checks it against the OpenRPC
 * meta-schema).
 *
 * The schema files point into each other (`common.json#/definitions/user`).
 * An OpenRPC document must stand alone, so every definition is hoisted into
 * `components.schemas` and each `$ref` rewritten to `#/components/schemas/<name>`.
 * Hoisting, not inlining: the document stays small (keyInfo and user appear
 * once, not in every method that returns them), and client generators turn
 * named components into named types.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ERRORS, type ErrorKind } from '../errors.js';
import { packageRoot } from '../paths.js';
import type { MethodSpec } from './spec.js';
import { resolveRef, type JsonSchema } from './schemas.js';

const OPENRPC_VERSION = '1.2.6';

/**
 * Errors any call can meet before or around its handler: the token check,
 * the roles and the token's scopes (so every method may refuse: any token
 * can be scoped away from it), params validation, the rate limit, the
 * database, a batch's budget or an answer's size. A method lists the others
 * it raises in `spec.errors`.
 */
const COMMON_ERRORS: readonly ErrorKind[] = [
  'authentication_failed',
  'permission_denied',
  'invalid_params',
  // out_of_credits shares rate_limited's code (-32029), so the document lists it once.
  'rate_limited',
  'storage_unavailable',
  'too_large',
  'internal',
];

/** The file every method schema shares; its definitions keep their bare names. */
const COMMON = 'common.json';
/** The only `$ref`s the document can carry: to a definition. */
const DEFINITION_REF = /^[^#]*#\/definitions\/[^/]+$/;

type Schema = Record<string, unknown>;

export interface ContentDescriptor {
  name: string;
  description?: string;
  required?: boolean;
  schema: Schema;
}

export interface OpenRpcMethod {
  name: string;
  summary: string;
  paramStructure: 'either';
  params: ContentDescriptor[];
  result: ContentDescriptor;
  errors: { code: number; message: string }[];
  /** The whole params object's schema, only when it constrains more than each param alone does. */
  'x-params-schema'?: Schema;
}

export interface OpenRpcDocument {
  openrpc: string;
  info: { title: string; version: string; description: string };
  methods: OpenRpcMethod[];
  components: { schemas: Record<string, Schema> };
}

/** Top-level keywords of a params schema that the list of params already says. */
const PARAMS_KEYWORDS = new Set(['$schema', '$id', 'title', 'description', 'type', 'properties', 'required', 'additionalProperties', 'definitions']);

export function buildOpenRpc(table: readonly MethodSpec[], raw: ReadonlyMap<string, JsonSchema>): OpenRpcDocument {
  const refs = new RefRewriter(raw);
  const methods = table.map((spec): OpenRpcMethod => {
    const paramsId = `${spec.name}.params.json`;
    const resultId = `${spec.name}.result.json`;
    const params = refs.embed(paramsId);
    if (params.type !== 'object' || typeof params.properties !== 'object') {
      throw new Error(`schemas/${paramsId}: params must be an object schema with properties`);
    }
    const required = new Set((params.required as string[] | undefined) ?? []);
    // Declared order: the order positional params fill (Dispatcher.toNamed).
    // A param's description moves up to its descriptor, where OpenRPC tools
    // show it (beside a draft-07 $ref it would be ignored anyway).
    const descriptors = Object.entries(params.properties as Record<string, Schema>).map(([name, property]) => {
      const { description, ...schema } = property;
      const d: ContentDescriptor = { name, required: required.has(name), schema };
      if (typeof description === 'string') d.description = description;
      return d;
    });
    const entry: OpenRpcMethod = {
      name: spec.name,
      summary: spec.summary,
      paramStructure: 'either',
      params: descriptors,
      result: { name: 'result', schema: refs.embed(resultId) },
      errors: [...new Set([...COMMON_ERRORS, ...(spec.errors ?? [])])].map((kind) => ({
        code: ERRORS[kind].rpc,
        message: ERRORS[kind].message,
      })),
    };
    if (Object.keys(params).some((k) => !PARAMS_KEYWORDS.has(k))) entry['x-params-schema'] = params;
    return entry;
  });
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    description?: string;
  };
  return {
    openrpc: OPENRPC_VERSION,
    info: {
      title: pkg.name,
      version: pkg.version,
      description:
        (pkg.description ? `${pkg.description}. ` : '') +
        // No `servers`: the service does not know the name clients reach it by,
        // and the meta-schema wants an absolute URL there.
        'POST JSON-RPC 2.0 requests to /rpc with the header "Authorization: token API_KEY:API_SECRET". ' +
        'Params may be given by name, or by position in the order listed here.',
    },
    methods,
    components: { schemas: refs.components },
  };
}

/**
 * Copies schemas with their `$ref`s pointing into `components.schemas`, and
 * hoists each definition it meets there (common.json's under their own names,
 * another file's under `<file>.<name>`). Anything else a `$ref` could point
 * at is refused: building the document fails loudly rather than emit a
 * dangling reference.
 */
class RefRewriter {
  readonly components: Record<string, Schema> = {};

  constructor(private readonly raw: ReadonlyMap<string, JsonSchema>) {}

  /** A schema file as it sits inside the document: no `$id` (it would move the base of every `#/...`). */
  embed(id: string): Schema {
    const schema = this.raw.get(id);
    if (!schema) throw new Error(`missing schema schemas/${id}`);
    const { $schema: _s, $id: _i, definitions, ...rest } = schema;
    for (const [name, def] of Object.entries((definitions as Schema | undefined) ?? {})) this.hoist(id, name, def);
    return this.rewrite(rest, id) as Schema;
  }

  /** `def` is the definition `name` of `file`, undefined when it has none. */
  private hoist(file: string, name: string, def: unknown): string {
    const key = file === COMMON ? name : `${file.replace(/\.json$/, '')}.${name}`;
    if (!(key in this.components)) {
      if (def === undefined) throw new Error(`schemas/${file}: no definition ${name}`);
      this.components[key] = {}; // placeholder first: definitions may refer to each other
      this.components[key] = this.rewrite(def, file) as Schema;
    }
    return key;
  }

  private rewrite(node: unknown, file: string): unknown {
    if (Array.isArray(node)) return node.map((n) => this.rewrite(n, file));
    if (node === null || typeof node !== 'object') return node;
    const out: Schema = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === '$ref' && typeof v === 'string' ? this.target(v, file) : this.rewrite(v, file);
    }
    return out;
  }

  private target(ref: string, file: string): string {
    if (!DEFINITION_REF.test(ref)) throw new Error(`schemas/${file}: cannot carry $ref "${ref}" into the OpenRPC document`);
    const { file: target, pointer, node } = resolveRef(this.raw, ref, file);
    if (!this.raw.has(target)) throw new Error(`schemas/${file}: $ref "${ref}" names an unknown file`);
    return `#/components/schemas/${this.hoist(target, pointer[1]!, node)}`;
  }
}
