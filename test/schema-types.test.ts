/**
 * Handler types come from schemas/ (scripts/schema-types.ts writes
 * src/rpc/schema-types.ts). The proof is type-level: each line marked
 * @ts-expect-error must fail tsc (npm test type-checks first, and an
 * expect-error line that compiles is itself an error), so a handler that
 * returns what its result schema refuses, or reads a param its params schema
 * does not have, cannot compile. Nothing here runs a handler.
 */
import fs from 'node:fs';
import { expect } from 'chai';
import { method, type CallContext, type MethodName, type ParamsOf, type ResultOf } from '../src/rpc/spec.js';
import { userGet } from '../src/methods/users.js';
import { generate, OUTPUT } from '../scripts/schema-types.js';

const base = { summary: 'a test double', roles: [], readOnly: true } as const;

/* eslint-disable @typescript-eslint/require-await -- the handlers below are written as real ones are (async), since that is what the types must admit or refuse */
/** Declarations tsc checks; returned, never called, so no handler runs. */
function declarations() {
  // Each @ts-expect-error must stay on the line above the expression it expects to fail, so the formatter keeps this as written.
  // prettier-ignore
  return [
    // Right: the params and result of schemas/user.delete.*.json.
    method({ ...base, name: 'user.delete', handler: async ({ name }) => ({ name, deleted: true as const }) }),
    method({ ...base, name: 'user.delete', async handler({ name }) { return { name, deleted: true }; } }),
    method({ ...base, name: 'frappe.client.delete', handler: async () => null }),

    // A result the schema refuses: deleted is `const: true`.
    // @ts-expect-error deleted must be true
    method({ ...base, name: 'user.delete', async handler({ name }) { return { name, deleted: false }; } }),
    // A required result property missing (auth.keys.revoke's api_key).
    // @ts-expect-error api_key is required
    method({ ...base, name: 'auth.keys.revoke', async handler({ user }) { return { user, revoked: true }; } }),
    // A result property of the wrong type (get_count answers an integer).
    // @ts-expect-error the count is a number
    method({ ...base, name: 'frappe.client.get_count', handler: async () => '3' }),
    // delete answers null, as Frappe does, not the user.
    // @ts-expect-error null, not an object
    method({ ...base, name: 'frappe.client.delete', handler: async (p) => ({ name: p.name }) }),

    // A param the schema does not have.
    // @ts-expect-error user.get takes only name
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the line exists to read `user`, which the params type lacks
    method({ ...base, name: 'user.get', async handler({ name, user }) { return userGet.handler({ name: name ?? user }, null!); } }),
    // @ts-expect-error auth.verify takes only token
    method({ ...base, name: 'auth.verify', handler: async (p) => ({ valid: false as const, seen: p.user }) }),
    // A param read as a type its schema does not give it (grace_seconds is an integer).
    method({ ...base, name: 'frappe.core.doctype.user.user.generate_keys', async handler(p) {
      // @ts-expect-error grace_seconds is a number
      const s: string = p.grace_seconds ?? 0;
      return { api_key: s, api_secret: s, expires_at: null, scopes: [], previous_valid_until: null, ratelimits: [], credits: null, ip_allowlist: [] };
    } }),
    // An optional param used as if always given.
    method({ ...base, name: 'auth.keys.list', async handler(p) {
      // @ts-expect-error limit may be absent
      const limit: number = p.limit;
      return limit > 0 ? [] : [];
    } }),

    // A method with no schemas.
    // @ts-expect-error no schemas/user.nope.params.json
    method({ ...base, name: 'user.nope', handler: async () => null }),
  ];
}
/* eslint-enable @typescript-eslint/require-await */

/** The types a handler sees, and what the declared method keeps (for handlers that call another). */
async function useOfTypes(ctx: CallContext): Promise<void> {
  const user: ResultOf<'user.get'> = await userGet.handler({ name: 'Administrator' }, ctx);
  // @ts-expect-error enabled is a boolean in user.get's result
  const _enabled: string = user.enabled;
  // @ts-expect-error user.get requires name
  const _params: ParamsOf<'user.get'> = {};
  // @ts-expect-error user.get's params are closed
  const _more: ParamsOf<'user.get'> = { name: 'a', full_name: 'b' };
  const _names: MethodName[] = ['rpc.discover', 'auth.verify'];
}

describe('types from the schemas', () => {
  it('src/rpc/schema-types.ts is what scripts/schema-types.ts makes of schemas/ (else: npm run schema-types)', async () => {
    expect(fs.readFileSync(OUTPUT, 'utf8')).to.equal(await generate());
  });

  it('types each handler by its schemas (the @ts-expect-error lines above fail tsc if they compile)', () => {
    expect(declarations()).to.have.length(12);
    expect(useOfTypes).to.be.a('function');
  });
});
