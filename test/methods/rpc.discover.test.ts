import { expect } from 'chai';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { useSharedService, expectError, expectResult } from '../harness.js';
import { methodTable } from '../../src/methods/index.js';
import type { JsonSchema } from '../../src/rpc/schemas.js';
import { buildOpenRpc, type OpenRpcDocument } from '../../src/rpc/openrpc.js';
import { ERRORS } from '../../src/errors.js';
import type { MethodSpec } from '../../src/rpc/spec.js';

const require = createRequire(import.meta.url);
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
const draft07 = require('ajv/dist/refs/json-schema-draft-07.json') as Record<string, any>;
const pkg = require('../../package.json') as { version: string };
// CommonJS, and its typings declare only types: required, not imported.
const { openrpcDocument } = require('@open-rpc/meta-schema') as { openrpcDocument: object };

/**
 * The OpenRPC meta-schema from @open-rpc/meta-schema, in an Ajv of its own.
 * It takes its JSON Schema vocabulary from https://meta.json-schema.tools,
 * which that package does not ship; draft-07's meta-schema stands in (OpenRPC
 * schemas are draft-07), with the one definition it points into.
 */
function openRpcValidator(): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const standIn = (id: string) => ({
    ...draft07,
    $id: id,
    definitions: { ...draft07.definitions, JSONSchemaObject: { properties: { $ref: draft07.properties.$ref } } },
  });
  // Referred to both with and without the trailing slash; Ajv keeps them apart.
  ajv.addMetaSchema(standIn('https://meta.json-schema.tools/'));
  ajv.addMetaSchema(standIn('https://meta.json-schema.tools'));
  return ajv.compile(openrpcDocument);
}

/** Compiles a schema from the document with the document's components, as a client would. */
function schemaValidator(doc: OpenRpcDocument): (schema: object) => ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return (schema) => ajv.compile({ components: doc.components, allOf: [schema] });
}

function refsIn(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, found));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') found.push(v);
      else refsIn(v, found);
    }
  }
  return found;
}

/**
 * A known-good value for every param of every method. A method that gains a
 * param without an example here fails the test that uses them: add one.
 */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  'frappe.core.doctype.user.user.generate_keys': {
    user: 'Administrator',
    expires_at: '2030-01-01T00:00:00Z',
    scopes: ['user.*', 'auth.verify'],
    ip_allowlist: ['10.0.0.0/8', '2001:db8::/32', '203.0.113.7'],
    grace_seconds: 60,
    ratelimits: [{ name: 'burst', limit: 100, duration_ms: 1000 }],
    credits: { remaining: 10000, refill: { amount: 10000, interval: 'monthly' } },
  },
  'auth.verify': { token: 'tak_aaaaaaaaaaaaaaaaaaaa:tas_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' },
  'frappe.auth.get_logged_user': {},
  'user.create': { name: 'svc@example.com', full_name: 'A Service', roles: ['Token Verifier'], enabled: true },
  'user.get': { name: 'svc@example.com' },
  'user.list': {
    start: 0,
    limit: 20,
    fields: ['name', 'full_name'],
    filters: { enabled: true },
    or_filters: [['name', 'like', '%example%']],
    order_by: 'name asc',
    as_dict: true,
  },
  'user.update': { name: 'svc@example.com', full_name: 'Renamed', roles: [], enabled: false },
  'user.delete': { name: 'svc@example.com' },
  'auth.keys.get': { user: 'svc@example.com' },
  'auth.keys.list': { start: 0, limit: 50, user: 'svc@example.com' },
  'auth.keys.update': {
    user: 'svc@example.com',
    expires_at: null,
    scopes: ['*'],
    ratelimits: [{ name: 'daily', limit: 50000, duration_ms: 86400000 }],
    credits: { remaining: 5, refill: { amount: 5, interval: 3600000 } },
    ip_allowlist: [],
  },
  'auth.keys.revoke': { user: 'svc@example.com' },
  'auth.keys.report_leak': { token: 'tas_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', url: 'https://github.com/o/r/blob/x/a.env' },
  'auth.audit.list': { start: 0, limit: 10, user: 'Administrator', action: 'keys.generate' },
  'rpc.discover': {},
  'frappe.client.get_list': {
    doctype: 'User',
    fields: ['name', 'email', 'enabled'],
    filters: [['Has Role', 'role', '=', 'System Manager']],
    group_by: null,
    order_by: 'modified desc',
    limit_start: 0,
    limit_page_length: 0,
    parent: null,
    debug: false,
    as_dict: true,
    or_filters: { name: ['like', '%example%'] },
  },
  'frappe.client.get_count': { doctype: 'User', filters: { enabled: 1 }, debug: 0, cache: false },
  'frappe.client.get': { doctype: 'User', name: 'svc@example.com', filters: { enabled: 1 }, parent: null },
  'frappe.client.get_value': { doctype: 'User', fieldname: ['full_name', 'api_key'], filters: 'svc@example.com', as_dict: false, debug: false, parent: null },
  'frappe.client.set_value': { doctype: 'User', name: 'svc@example.com', fieldname: 'enabled', value: 0 },
  'frappe.client.insert': { doc: { doctype: 'User', email: 'svc@example.com', first_name: 'A', roles: [{ role: 'Token Verifier' }] } },
  'frappe.client.insert_many': { docs: [{ doctype: 'User', name: 'svc@example.com' }] },
  'frappe.client.save': { doc: { doctype: 'User', name: 'svc@example.com', enabled: 1 } },
  'frappe.client.delete': { doctype: 'User', name: 'svc@example.com' },
};

describe('rpc.discover', () => {
  // Shared: the document is the same on every service; its calls use names of their own.
  const svc = useSharedService();
  let doc: OpenRpcDocument;
  let compile: (schema: object) => ValidateFunction;
  before(async () => {
    // The harness also checks the reply against schemas/rpc.discover.result.json.
    doc = expectResult(await svc.call('rpc.discover'));
    compile = schemaValidator(doc);
  });

  describe('success', () => {
    it('is a valid OpenRPC document', () => {
      const validate = openRpcValidator();
      expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 5), null, 2)).to.equal(true);
      expect(doc.openrpc).to.match(/^1\.\d+\.\d+$/);
      expect(doc.info.version).to.equal(pkg.version);
    });

    it('the meta-schema check catches a broken document', () => {
      const validate = openRpcValidator();
      const broken = structuredClone(doc) as any;
      broken.methods[0].params.push({ name: 'x', schema: { type: 5 } });
      expect(validate(broken)).to.equal(false);
    });

    it('lists every method of the table exactly once, with its summary', () => {
      expect(doc.methods.map((m) => m.name)).to.deep.equal(methodTable.map((m) => m.name));
      expect(new Set(doc.methods.map((m) => m.name)).size).to.equal(methodTable.length);
      for (const spec of methodTable) expect(doc.methods.find((m) => m.name === spec.name)!.summary).to.equal(spec.summary);
    });

    it('lists params in the order positional params fill them, marking the required ones', () => {
      const raw = svc.app.dispatcher.schemas.raw;
      for (const m of doc.methods) {
        const schema = raw.get(`${m.name}.params.json`)!;
        expect(m.paramStructure).to.equal('either');
        expect(
          m.params.map((p) => p.name),
          m.name,
        ).to.deep.equal(Object.keys(schema.properties ?? {}));
        const required = (schema.required as string[] | undefined) ?? [];
        for (const p of m.params) expect(p.required, `${m.name} ${p.name}`).to.equal(required.includes(p.name));
      }
    });

    it('is self-contained: every $ref points at a component that exists', () => {
      const refs = refsIn(doc);
      expect(refs).to.not.be.empty;
      for (const ref of refs) {
        expect(ref).to.match(/^#\/components\/schemas\//);
        expect(doc.components.schemas).to.have.property(ref.slice('#/components/schemas/'.length));
      }
      expect(JSON.stringify(doc)).to.not.include('common.json').and.not.include('"$id"');
    });

    it("each param's schema accepts a known-good example, as the service's own validation does", () => {
      const missing: string[] = [];
      for (const m of doc.methods) {
        const examples = EXAMPLES[m.name] ?? {};
        const given: Record<string, unknown> = {};
        for (const p of m.params) {
          if (!(p.name in examples)) {
            missing.push(`${m.name} ${p.name}`);
            continue;
          }
          given[p.name] = examples[p.name];
          const validate = compile(p.schema);
          expect(validate(examples[p.name]), `${m.name} ${p.name}: ${JSON.stringify(validate.errors)}`).to.equal(true);
        }
        const enforced = svc.app.dispatcher.schemas.validator(`${m.name}.params.json`);
        expect(enforced(given), `${m.name}: ${JSON.stringify(enforced.errors)}`).to.equal(true);
        if (m['x-params-schema']) expect(compile(m['x-params-schema'])(given), m.name).to.equal(true);
      }
      expect(missing, 'params without an example in EXAMPLES').to.deep.equal([]);
    });

    it("a param's schema refuses what the service refuses", () => {
      const userGet = doc.methods.find((m) => m.name === 'user.get')!;
      const name = compile(userGet.params[0]!.schema);
      for (const bad of ['', 'has space', '$ne', 5, null]) expect(name(bad), String(bad)).to.equal(false);
    });

    it('result schemas match the results of real calls', async () => {
      const calls: [string, unknown][] = [
        ['auth.verify', {}],
        ['frappe.auth.get_logged_user', {}],
        ['user.create', { name: 'discover@example.com', roles: ['Token Verifier'] }],
        ['user.get', { name: 'discover@example.com' }],
        ['user.list', {}],
        ['user.update', { name: 'discover@example.com', full_name: 'Discover' }],
        ['user.delete', { name: 'discover@example.com' }],
        ['rpc.discover', []],
      ];
      for (const [method, params] of calls) {
        const result = expectResult(await svc.call(method, params));
        const validate = compile(doc.methods.find((m) => m.name === method)!.result.schema);
        expect(validate(result), `${method}: ${JSON.stringify(validate.errors)}`).to.equal(true);
      }
      const userGet = compile(doc.methods.find((m) => m.name === 'user.get')!.result.schema);
      expect(userGet({ name: 'x' }), 'an incomplete user').to.equal(false);
    });

    it("lists the errors every call can meet and the method's own, with the codes of src/errors.ts", () => {
      const common = ['authentication_failed', 'permission_denied', 'invalid_params', 'rate_limited', 'storage_unavailable', 'too_large', 'internal'] as const;
      // A code several kinds share (-32029: rate_limited, out_of_credits) is listed under its first kind's message.
      const byCode = new Map<number, string>();
      for (const e of Object.values(ERRORS)) if (!byCode.has(e.rpc)) byCode.set(e.rpc, e.message);
      for (const spec of methodTable) {
        const m = doc.methods.find((x) => x.name === spec.name)!;
        const codes = m.errors.map((e) => e.code);
        expect(new Set(codes).size, `${m.name} lists a code twice`).to.equal(codes.length);
        for (const e of m.errors) expect(e.message, `${m.name} ${e.code}`).to.equal(byCode.get(e.code));
        const expected = [...new Set([...common, ...(spec.errors ?? [])])].map((k) => ERRORS[k].rpc);
        expect(codes, m.name).to.have.members(expected);
      }
    });

    it('is built once', async () => {
      expect(await svc.asAdmin('rpc.discover', {})).to.equal(await svc.asAdmin('rpc.discover', {}));
    });

    it('answers any authenticated caller, by name or by position', async () => {
      const plain = await svc.userWithToken('discover-plain@example.com');
      expect(expectResult(await svc.call('rpc.discover', {}, plain)).methods).to.have.length(methodTable.length);
      expect(expectResult(await svc.call('rpc.discover', [], plain)).methods).to.have.length(methodTable.length);
    });
  });

  describe('permission', () => {
    it('refuses a caller without a token with 401 / -32001', async () => {
      expectError(await svc.call('rpc.discover', {}, null), -32001, 401);
      expectError(await svc.call('rpc.discover', {}, 'tak_aaaaaaaaaaaaaaaaaaaa:tas_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'), -32001, 401);
    });

    it('needs no role, but is refused to a token whose scopes do not include it (-32003)', async () => {
      const { token } = await svc.newUserWithToken([], { scopes: ['auth.verify'] });
      expect(expectError(await svc.call('rpc.discover', {}, token), -32003).message).to.equal("this token's scopes do not include rpc.discover");
      const { token: scoped } = await svc.newUserWithToken([], { scopes: ['rpc.*'] });
      expect(expectResult(await svc.call('rpc.discover', {}, scoped)).methods).to.have.length(methodTable.length);
    });
  });

  describe('bad params', () => {
    it('refuses unknown params with -32602', async () => {
      const err = expectError(await svc.call('rpc.discover', { verbose: true }), -32602);
      expect(err.data).to.deep.equal([{ path: '/verbose', message: 'is not a known parameter' }]);
      expectError(await svc.call('rpc.discover', [1]), -32602);
    });
  });

  describe('storage', () => {
    it('reads nothing stored about users or keys, and writes nothing', async () => {
      const before = await svc.stored();
      expect(expectResult(await svc.call('rpc.discover', {}))).to.deep.equal(doc);
      expect(await svc.stored()).to.equal(before);
    });
  });

  describe('buildOpenRpc (the document it serves, from the table and the schema files)', () => {
    const schema = (id: string, body: Record<string, unknown>): [string, JsonSchema] => [
      id,
      { $schema: 'http://json-schema.org/draft-07/schema#', $id: id, ...body },
    ];
    const spec = (name: string, errors?: MethodSpec['errors']): MethodSpec => ({
      name,
      summary: `does ${name}`,
      roles: [],
      readOnly: true,
      ...(errors ? { errors } : {}),
      // eslint-disable-next-line @typescript-eslint/require-await -- a handler answers with a promise (never called here)
      handler: async () => null,
    });
    const common = schema('common.json', {
      definitions: { id: { type: 'string', minLength: 1 }, ids: { type: 'array', items: { $ref: '#/definitions/id' } } },
    });

    it("carries a method file's own definitions and whole-object constraints along", () => {
      const raw = new Map([
        common,
        schema('a.params.json', {
          type: 'object',
          additionalProperties: false,
          definitions: { pair: { type: 'array', items: { $ref: 'common.json#/definitions/id' }, minItems: 2, maxItems: 2 } },
          anyOf: [{ required: ['x'] }, { required: ['ys'] }],
          properties: { x: { $ref: '#/definitions/pair', description: 'a pair' }, ys: { $ref: 'common.json#/definitions/ids' } },
        }),
        schema('a.result.json', { $ref: 'common.json#/definitions/ids' }),
      ]);
      const doc = buildOpenRpc([spec('a', ['not_found'])], raw);
      expect(openRpcValidator()(doc)).to.equal(true);
      expect(Object.keys(doc.components.schemas).sort()).to.deep.equal(['a.params.pair', 'id', 'ids']);
      const [x, ys] = doc.methods[0]!.params;
      expect(x).to.deep.equal({ name: 'x', required: false, description: 'a pair', schema: { $ref: '#/components/schemas/a.params.pair' } });
      const compile = schemaValidator(doc);
      expect(compile(x!.schema)(['a', 'b'])).to.equal(true);
      expect(compile(x!.schema)(['a', ''])).to.equal(false);
      expect(compile(ys!.schema)(['a'])).to.equal(true);
      const whole = compile(doc.methods[0]!['x-params-schema']!);
      expect(whole({})).to.equal(false);
      expect(whole({ ys: [] })).to.equal(true);
      expect(doc.methods[0]!.errors.map((e) => e.code)).to.include(ERRORS.not_found.rpc);
    });

    it('fails loudly on a $ref it cannot carry into the document', () => {
      const params = { type: 'object', properties: {} };
      for (const ref of ['common.json#/definitions/nope', 'other.json#/definitions/id', 'common.json#/properties/x']) {
        const raw = new Map([common, schema('a.params.json', params), schema('a.result.json', { $ref: ref })]);
        expect(() => buildOpenRpc([spec('a')], raw), ref).to.throw(/\$ref|definition/);
      }
    });
  });
});
