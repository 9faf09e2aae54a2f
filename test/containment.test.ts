/**
 * Issue 10: a token can never create or widen a credential beyond itself.
 * Whatever a call made with a token creates or changes (a key's scopes and
 * expiry, another user's key, a user's roles or enabled flag) can never do
 * more, or live longer, than that token. Refusals are -32003 (HTTP 403) and
 * change nothing.
 *
 * The pure rules (src/auth/containment.ts) are checked by properties against
 * an independent reading of what a scope allows; the service is checked over
 * real HTTP on the real database, by the reproductions of the issue and by a
 * property over random callers and requests. A failure prints fast-check's
 * seed and path; rerun it with CONTAINMENT_SEED=<seed>.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { useService, rest, expectError, expectResult, expectFrappeError, tokenOf } from './harness.js';
import { scopeAllows, scopesAllow } from '../src/auth/scopes.js';
import { AppError } from '../src/errors.js';
import { methodTable } from '../src/methods/index.js';
import {
  checkCredential,
  checkUserChange,
  expiryWithin,
  restricted,
  scopeContains,
  scopesContain,
  type Credential,
  type Holder,
} from '../src/auth/containment.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
const UPDATE = 'auth.keys.update';
const SM = 'System Manager';
const seed = process.env.CONTAINMENT_SEED ? Number(process.env.CONTAINMENT_SEED) : Date.now() % 2 ** 31;

const HOUR = 3_600_000;
const MINUTE = 60_000;
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

/** Asserts a refusal by containment: AppError permission_denied (-32003) whose message names the part. */
function refused(fn: () => unknown, part: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).to.be.instanceOf(AppError);
  expect((err as AppError).kind).to.equal('permission_denied');
  expect((err as AppError).toRpc().code).to.equal(-32003);
  expect((err as AppError).message).to.match(part);
}

describe(`containment: a token never makes a credential beyond itself (seed ${seed})`, function () {
  this.timeout(120_000);

  describe('the pure rules', () => {
    // Small alphabets, so generated scopes and method names overlap often.
    const segment = fc.constantFrom('a', 'b', 'c');
    const dotted = (max: number) => fc.array(segment, { minLength: 1, maxLength: max }).map((s) => s.join('.'));
    const scope = fc.oneof(
      dotted(3),
      dotted(3).map((n) => `${n}.*`),
      fc.constant('*'),
    );
    const scopeList = fc.uniqueArray(scope, { maxLength: 4 });
    const methodName = dotted(4);

    /**
     * A method `scope` allows whose name no generated scope spells (segments
     * are a, b, c): if the outer scope does not contain the inner one, the
     * outer scope does not allow this method either.
     */
    const witness = (s: string) => (s === '*' ? 'zz' : s.endsWith('.*') ? `${s.slice(0, -1)}zz` : s);
    const witnesses = (scopes: readonly string[]) => (scopes.length === 0 || scopes.includes('*') ? ['zz'] : scopes.map(witness));

    it('scopeContains is sound: what the inner scope allows, the outer allows', () => {
      fc.assert(
        fc.property(scope, scope, methodName, (outer, inner, m) => {
          if (scopeContains(outer, inner) && scopeAllows(inner, m)) expect(scopeAllows(outer, m), `${outer} ⊇ ${inner}, ${m}`).to.equal(true);
        }),
        { seed, numRuns: 5000 },
      );
    });

    it('scopeContains is exact: a scope not contained allows a method (perhaps one not written yet) the outer does not', () => {
      fc.assert(
        fc.property(scope, scope, (outer, inner) => {
          const w = witness(inner);
          expect(scopeAllows(inner, w)).to.equal(true);
          expect(scopeContains(outer, inner), `${outer} ⊇ ${inner}`).to.equal(scopeAllows(outer, w));
        }),
        { seed, numRuns: 5000 },
      );
    });

    it('scopesContain: [] or "*" contains everything; a scoped token never contains [] (no limit); sound and exact', () => {
      fc.assert(
        fc.property(scopeList, scopeList, methodName, (holder, requested, m) => {
          const contains = scopesContain(holder, requested);
          if (contains && scopesAllow(requested, m)) expect(scopesAllow(holder, m)).to.equal(true);
          expect(contains, `${JSON.stringify(holder)} ⊇ ${JSON.stringify(requested)}`).to.equal(witnesses(requested).every((w) => scopesAllow(holder, w)));
          if (holder.length === 0 || holder.includes('*')) expect(contains).to.equal(true);
          if (requested.length === 0 && holder.length > 0 && !holder.includes('*')) expect(contains).to.equal(false);
          expect(scopesContain(holder, holder)).to.equal(true);
        }),
        { seed, numRuns: 5000 },
      );
    });

    it('scopesContain is transitive', () => {
      fc.assert(
        fc.property(scopeList, scopeList, scopeList, (a, b, c) => {
          if (scopesContain(a, b) && scopesContain(b, c)) expect(scopesContain(a, c)).to.equal(true);
        }),
        { seed, numRuns: 3000 },
      );
    });

    it('the examples of the issue', () => {
      expect(scopesContain([], ['*'])).to.equal(true);
      expect(scopesContain(['*'], [])).to.equal(true);
      expect(scopesContain(['user.*'], ['user.get', 'user.x.y', 'user.*'])).to.equal(true);
      expect(scopesContain(['user.*'], ['user'])).to.equal(false);
      expect(scopesContain(['user.get'], ['user.get'])).to.equal(true);
      expect(scopesContain(['user.get'], ['user.*'])).to.equal(false);
      expect(scopesContain(['user.get'], ['user.get.*'])).to.equal(false);
      expect(scopesContain([UPDATE], ['*'])).to.equal(false);
      expect(scopesContain([UPDATE], [])).to.equal(false);
      expect(expiryWithin(null, null)).to.equal(true);
      const at = inMs(HOUR);
      expect(expiryWithin(at, null)).to.equal(false);
      expect(expiryWithin(at, new Date(at))).to.equal(true);
      expect(expiryWithin(at, new Date(Date.parse(at) + 1))).to.equal(false);
      expect(restricted({ scopes: [], expiresAt: null })).to.equal(false);
      expect(restricted({ scopes: ['*'], expiresAt: null })).to.equal(false);
      expect(restricted({ scopes: ['user.*'], expiresAt: null })).to.equal(true);
      expect(restricted({ scopes: [], expiresAt: at })).to.equal(true);
    });

    const roles = fc.subarray(['System Manager', 'Auditor', 'Token Verifier']);
    const expiry = fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null });
    const holder = fc.record({ scopes: scopeList, expiresAt: expiry, roles });
    const credential = fc.record({
      scopes: scopeList,
      expiresAt: expiry,
      otherOwner: fc.option(fc.record({ name: fc.constant('other'), roles }), { nil: undefined }),
    });
    const base = Date.now() + HOUR;

    it('checkCredential refuses (permission_denied) exactly what a restricted token could not do itself', () => {
      fc.assert(
        fc.property(holder, credential, (h, c) => {
          const caller: Holder = { ...h, expiresAt: h.expiresAt === null ? null : new Date(base + h.expiresAt * MINUTE).toISOString() };
          const key: Credential = { ...c, expiresAt: c.expiresAt === null ? null : new Date(base + c.expiresAt * MINUTE) };
          const isRestricted = (h.scopes.length > 0 && !h.scopes.includes('*')) || h.expiresAt !== null;
          const within =
            witnesses(c.scopes).every((w) => scopesAllow(h.scopes, w)) &&
            (h.expiresAt === null || (c.expiresAt !== null && c.expiresAt <= h.expiresAt)) &&
            (c.otherOwner?.roles ?? []).every((r) => h.roles.includes(r));
          if (!isRestricted || within) checkCredential(caller, key);
          else refused(() => checkCredential(caller, key), /wider than this token's scopes|no later than this token's expiry|does not hold/);
        }),
        { seed, numRuns: 5000 },
      );
    });

    it('checkUserChange: roles and enabling need an unrestricted token; unchanged fields are dropped, never written', () => {
      const user = fc.record({ roles, enabled: fc.boolean() });
      const changes = fc.record({ full_name: fc.constant('X'), roles, enabled: fc.boolean() }, { requiredKeys: [] });
      fc.assert(
        fc.property(holder, changes, fc.option(user, { nil: undefined }), (h, asked, current) => {
          const caller: Holder = { ...h, expiresAt: h.expiresAt === null ? null : inMs(h.expiresAt * MINUTE) };
          if (!restricted(caller)) {
            expect(checkUserChange(caller, asked, current)).to.deep.equal(asked);
            return;
          }
          const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((r) => b.includes(r));
          const grants = current
            ? (asked.roles !== undefined && !sameSet(asked.roles, current.roles)) || (asked.enabled === true && !current.enabled)
            : (asked.roles?.length ?? 0) > 0;
          if (grants) return refused(() => checkUserChange(caller, asked, current), /needs a token without scopes, expiry or IP allowlist/);
          const out = checkUserChange(caller, asked, current);
          if (current) {
            expect(out).to.not.have.property('roles');
            expect(out.enabled).to.not.equal(true);
          }
          expect(out.full_name).to.equal(asked.full_name);
        }),
        { seed, numRuns: 3000 },
      );
    });
  });

  describe('the service, over HTTP', () => {
    const svc = useService();
    let n = 0;

    const db = () => svc.app.services.storage.db;
    /** The stored key, all of it (secret hash, revision, ...), as text: any change shows. */
    const storedKey = async (user: string) => JSON.stringify(await db().collection('api_keys').findOne({ user }));
    const storedUser = async (name: string) => JSON.stringify(await db().collection('users').findOne({ name }));
    /** Whether the token still authenticates (its scopes may still refuse the method: -32003, not -32001). */
    const authenticates = async (token: string) => (await svc.call('frappe.auth.get_logged_user', undefined, token)).body.error?.code !== -32001;

    /** A fresh user, and if `key` is given a key for it made by the operator (the CLI); returns name and token. */
    async function user(roles: string[], key?: { scopes?: string[]; expires_at?: string | null }): Promise<{ name: string; token: string }> {
      const name = `c${++n}@example.com`;
      await svc.asAdmin('user.create', { name, roles });
      const token = key ? tokenOf(await svc.asAdmin(GENERATE, { user: name, ...key })) : '';
      return { name, token };
    }

    describe('a previous secret in its grace period (found by an outside attacker)', () => {
      it('acts as a token that expires when its grace ends: it cannot issue a key that never expires, nor grant roles', async () => {
        const me = await user([SM], {});
        const rotated = (await svc.asAdmin(GENERATE, { user: me.name, grace_seconds: 60 })) as { api_key: string; api_secret: string };
        const before = await storedKey(me.name);
        const err = expectError(await svc.call(GENERATE, { user: me.name }, me.token), -32003);
        expect(err.message).to.match(/expires/);
        expectError(await svc.call('user.create', { name: `grace${++n}`, roles: [SM] }, me.token), -32003);
        expect(await storedKey(me.name)).to.equal(before);
        // The owner's new secret, from the rotation, still works.
        expect(await authenticates(tokenOf(rotated))).to.equal(true);
      });
    });

    describe('deleting users (found by an outside attacker)', () => {
      it('a restricted token may delete only an enabled user whose roles it holds, so it cannot free a name to bring it back', async () => {
        const me = await user([SM], { scopes: ['user.*', 'frappe.client.*'], expires_at: inMs(HOUR) });
        const disabled = await user([]);
        await svc.asAdmin('user.update', { name: disabled.name, enabled: false });
        const stronger = await user([SM, 'Auditor']);
        const before = [await storedUser(disabled.name), await storedUser(stronger.name)];
        expect(expectError(await svc.call('user.delete', { name: disabled.name }, me.token), -32003).message).to.equal(
          'deleting a disabled user needs a token without scopes, expiry or IP allowlist',
        );
        expect(expectError(await svc.call('frappe.client.delete', { doctype: 'User', name: stronger.name }, me.token), -32003).message).to.equal(
          `deleting ${stronger.name}, who holds roles this token's user does not hold, needs a token without scopes, expiry or IP allowlist`,
        );
        expect([await storedUser(disabled.name), await storedUser(stronger.name)]).to.deep.equal(before);
        const peer = await user([SM]);
        expectResult(await svc.call('user.delete', { name: peer.name }, me.token));
        // An unrestricted token deletes either.
        expectResult(await svc.call('user.delete', { name: disabled.name }));
      });
    });

    describe('races (found by an outside attacker)', () => {
      it('a rotation racing a revocation writes the checked credential, never a fresh unscoped, unexpiring key', async () => {
        const REVOKE = 'auth.keys.revoke';
        const expires = inMs(HOUR);
        for (let round = 0; round < 15; round++) {
          const me = await user([SM], { scopes: [GENERATE, REVOKE], expires_at: expires });
          const [rotated] = await Promise.all([svc.call(GENERATE, { user: me.name }, me.token), svc.call(REVOKE, { user: me.name }, me.token)]);
          if (rotated.body.result) {
            expect(rotated.body.result.scopes, `round ${round}`).to.deep.equal([GENERATE, REVOKE]);
            expect(rotated.body.result.expires_at, `round ${round}`).to.equal(expires);
          }
          const left = await db().collection('api_keys').findOne({ user: me.name });
          if (left) {
            expect(left.scopes, `round ${round}: the stored key`).to.deep.equal([GENERATE, REVOKE]);
            expect(left.expires_at?.toISOString(), `round ${round}: the stored key`).to.equal(expires);
          }
        }
      });
    });

    describe('reproductions of the issue (each passed on main before the fix)', () => {
      it('a System Manager key scoped ["auth.keys.update"] cannot widen itself to ["*"] or [] (unscoped)', async () => {
        const me = await user([SM], { scopes: [UPDATE] });
        const before = await storedKey(me.name);
        const err = expectError(await svc.call(UPDATE, { user: me.name, scopes: ['*'] }, me.token), -32003);
        expect(err.message).to.equal(`scopes ["*"] are wider than this token's scopes ["${UPDATE}"]`);
        expect(expectError(await svc.call(UPDATE, { user: me.name, scopes: [] }, me.token), -32003).message).to.include('[] (no limit) are wider');
        expect(await storedKey(me.name)).to.equal(before);
        expectError(await svc.call('user.list', {}, me.token), -32003); // the scope did not escape
        // Within itself it may still change its own key.
        expect(expectResult(await svc.call(UPDATE, { user: me.name, scopes: [UPDATE] }, me.token)).scopes).to.deep.equal([UPDATE]);
      });

      it('a key scoped to generate_keys cannot rotate itself unscoped; a refused rotation leaves the old secret working', async () => {
        const me = await user([SM], { scopes: [GENERATE] });
        const before = await storedKey(me.name);
        const err = expectError(await svc.call(GENERATE, { user: me.name, scopes: [] }, me.token), -32003);
        expect(err.message).to.equal(`scopes [] (no limit) are wider than this token's scopes ["${GENERATE}"]`);
        expectError(await svc.call(GENERATE, { user: me.name, scopes: ['*'] }, me.token), -32003);
        expect(await storedKey(me.name)).to.equal(before);
        expect(await authenticates(me.token)).to.equal(true);
        // A rotation that keeps its scopes is within itself.
        const rotated = expectResult(await svc.call(GENERATE, { user: me.name }, me.token));
        expect(rotated.scopes).to.deep.equal([GENERATE]);
        expect(await authenticates(me.token)).to.equal(false);
      });

      it("a key scoped to generate_keys cannot take over Administrator's key (kept unscoped), nor a user with roles it lacks", async () => {
        const me = await user([SM], { scopes: [GENERATE] });
        const before = await storedKey('Administrator');
        const err = expectError(await svc.call(GENERATE, { user: 'Administrator' }, me.token), -32003);
        expect(err.message).to.match(/^scopes \[\] \(no limit\) \(kept from the key: give scopes to narrow them\) are wider than this token's scopes/);
        expectError(await svc.call(GENERATE, { user: 'Administrator', scopes: [], grace_seconds: 0 }, me.token), -32003);
        expect(await storedKey('Administrator')).to.equal(before);
        expectResult(await svc.call('user.list', {}, svc.adminToken)); // Administrator's secret still works, unscoped

        const boss = await user([SM, 'Auditor'], { scopes: [GENERATE] });
        const bossBefore = await storedKey(boss.name);
        const denied = expectError(await svc.call(GENERATE, { user: boss.name, scopes: [GENERATE] }, me.token), -32003);
        expect(denied.message).to.equal(
          `a key of ${boss.name} acts with roles this token's user does not hold; that needs a token without scopes, expiry or IP allowlist`,
        );
        expect(await storedKey(boss.name)).to.equal(bossBefore);
        expect(await authenticates(boss.token)).to.equal(true);
      });

      it('a key scoped ["auth.keys.update"] expiring in an hour cannot make itself never expire, or expire later', async () => {
        const expiresAt = inMs(HOUR);
        const me = await user([SM], { scopes: [UPDATE], expires_at: expiresAt });
        const own = new Date(expiresAt).toISOString();
        const before = await storedKey(me.name);
        const err = expectError(await svc.call(UPDATE, { user: me.name, expires_at: null }, me.token), -32003);
        expect(err.message).to.equal(`expires_at must be no later than this token's expiry ${own}; the key would never expire`);
        expectError(await svc.call(UPDATE, { user: me.name, expires_at: new Date(Date.parse(own) + 1).toISOString() }, me.token), -32003);
        expect(await storedKey(me.name)).to.equal(before);
        // Sooner is a narrowing, and allowed.
        const sooner = inMs(30 * MINUTE);
        expect(expectResult(await svc.call(UPDATE, { user: me.name, expires_at: sooner }, me.token)).expires_at).to.equal(sooner);
      });

      it('a key scoped ["user.*"] cannot give another user System Manager, create one with roles, or enable one', async () => {
        const me = await user([SM], { scopes: ['user.*'] });
        const other = await user([]);
        const before = await storedUser(other.name);
        const err = expectError(await svc.call('user.update', { name: other.name, roles: [SM] }, me.token), -32003);
        expect(err.message).to.equal('changing roles needs a token without scopes, expiry or IP allowlist');
        expectError(await svc.call('user.update', { name: me.name, roles: [SM, 'Auditor'] }, me.token), -32003);
        expect(await storedUser(other.name)).to.equal(before);
        // Removing roles is changing them too.
        const auditor = await user(['Auditor']);
        const auditorBefore = await storedUser(auditor.name);
        expectError(await svc.call('user.update', { name: auditor.name, roles: [], full_name: 'Auditor' }, me.token), -32003);
        expect(await storedUser(auditor.name)).to.equal(auditorBefore);

        expect(expectError(await svc.call('user.create', { name: `new${n}`, roles: [SM] }, me.token), -32003).message).to.equal(
          'changing roles needs a token without scopes, expiry or IP allowlist',
        );
        expectError(await svc.call('user.get', { name: `new${n}` }), -32004); // nothing was created

        const off = await user([]);
        await svc.asAdmin('user.update', { name: off.name, enabled: false });
        const offBefore = await storedUser(off.name);
        expect(expectError(await svc.call('user.update', { name: off.name, enabled: true }, me.token), -32003).message).to.equal(
          'enabling a user needs a token without scopes, expiry or IP allowlist',
        );
        expect(await storedUser(off.name)).to.equal(offBefore);
      });
    });

    describe('what a restricted token may still do', () => {
      it('change full_name, disable a user, send roles and enabled unchanged, create a user without roles', async () => {
        const me = await user([SM], { scopes: ['user.*'], expires_at: inMs(HOUR) });
        const other = await user(['Auditor']);
        const renamed = expectResult(await svc.call('user.update', { name: other.name, full_name: 'Renamed', roles: ['Auditor'], enabled: true }, me.token));
        expect(renamed).to.include({ full_name: 'Renamed', enabled: true });
        expect(renamed.roles).to.deep.equal(['Auditor']);
        expect(expectResult(await svc.call('user.update', { name: other.name, enabled: false }, me.token)).enabled).to.equal(false);
        const created = expectResult(await svc.call('user.create', { name: `plain${++n}`, roles: [] }, me.token));
        expect(created.roles).to.deep.equal([]);
      });

      it('issue a key for a user with no more roles, within its own scopes and expiry', async () => {
        const expiresAt = inMs(2 * HOUR);
        const me = await user([SM], { scopes: [GENERATE, 'auth.verify'], expires_at: expiresAt });
        const other = await user([]);
        const soon = inMs(HOUR);
        const issued = expectResult(await svc.call(GENERATE, { user: other.name, scopes: ['auth.verify'], expires_at: soon }, me.token));
        expect(issued).to.include({ expires_at: soon });
        expect(issued.scopes).to.deep.equal(['auth.verify']);
        // Nothing asked of a new key means unscoped and never expiring: refused, and nothing made.
        const fresh = await user([]);
        expect(expectError(await svc.call(GENERATE, { user: fresh.name, scopes: ['auth.verify'] }, me.token), -32003).message).to.match(
          /^expires_at must be no later than this token's expiry .*; the key would never expire$/,
        );
        expectError(await svc.call('auth.keys.get', { user: fresh.name }), -32004);
      });
    });

    describe('unrestricted tokens and the CLI are not limited', () => {
      it('an unscoped, never-expiring token (and "*") may widen, grant roles and enable', async () => {
        const star = await user([SM], { scopes: ['*'] });
        const other = await user([], { scopes: ['auth.verify'], expires_at: inMs(HOUR) });
        expect(expectResult(await svc.call(UPDATE, { user: other.name, scopes: [], expires_at: null }, star.token))).to.include({ expires_at: null });
        expect(expectResult(await svc.call('user.update', { name: other.name, roles: [SM] }, star.token)).roles).to.deep.equal([SM]);
        const peer = await user([SM, 'Auditor'], { scopes: ['auth.verify'] });
        expect(expectResult(await svc.call(GENERATE, { user: peer.name, scopes: [] }, svc.adminToken)).scopes).to.deep.equal([]);
      });

      it('an unscoped token that expires is restricted: it cannot grant roles', async () => {
        const me = await user([SM], { expires_at: inMs(HOUR) });
        const other = await user([]);
        expectError(await svc.call('user.update', { name: other.name, roles: [SM] }, me.token), -32003);
      });

      it('the CLI (operator: no token) stays unrestricted', async () => {
        const other = await user([]);
        expect((await svc.asAdmin('user.update', { name: other.name, roles: [SM] })).roles).to.deep.equal([SM]);
        const keys = await svc.asAdmin(GENERATE, { user: other.name, scopes: [] });
        expect(keys.scopes).to.deep.equal([]);
        expect(keys.expires_at).to.equal(null);
      });
    });

    describe('the REST door (/api/resource/User maps onto user.create and user.update)', () => {
      const json = (value: unknown) => ({ type: 'application/json', body: JSON.stringify(value) });

      it('refuses roles and enabling from a restricted token with 403 PermissionError, and changes nothing', async () => {
        const me = await user([SM], { scopes: ['user.*'] });
        const other = await user([]);
        const before = await storedUser(other.name);
        const [message] = expectFrappeError(
          await rest(svc, 'PUT', `/api/resource/User/${other.name}`, { token: me.token, ...json({ roles: [SM] }) }),
          403,
          'PermissionError',
        );
        expect(message).to.equal('changing roles needs a token without scopes, expiry or IP allowlist');
        expect(await storedUser(other.name)).to.equal(before);
        expectFrappeError(
          await rest(svc, 'POST', '/api/resource/User', { token: me.token, ...json({ name: `rest${++n}`, roles: [SM] }) }),
          403,
          'PermissionError',
        );
        expectError(await svc.call('user.get', { name: `rest${n}` }), -32004);
        await svc.asAdmin('user.update', { name: other.name, enabled: false });
        const disabled = await storedUser(other.name);
        expectFrappeError(await rest(svc, 'PUT', `/api/resource/User/${other.name}`, { token: me.token, ...json({ enabled: 1 }) }), 403, 'PermissionError');
        expect(await storedUser(other.name)).to.equal(disabled);
      });

      it('takes back a whole document it served, with a new full_name, from a restricted token', async () => {
        const me = await user([SM], { scopes: ['user.*'] });
        const other = await user(['Auditor']);
        const doc = (await rest(svc, 'GET', `/api/resource/User/${other.name}`, { token: me.token })).body.data;
        const reply = await rest(svc, 'PUT', `/api/resource/User/${other.name}`, { token: me.token, ...json({ ...doc, full_name: 'Round Trip' }) });
        expect(reply.status, reply.text).to.equal(200);
        expect(reply.body.data).to.include({ full_name: 'Round Trip', enabled: 1 });
        expect(reply.body.data.roles).to.deep.equal([{ role: 'Auditor' }]);
      });
    });

    describe('property: random callers and requests through the real service', () => {
      const CALLER_SCOPES: string[][] = [
        [],
        ['*'],
        ['auth.*'],
        [UPDATE],
        ['auth.keys.*', 'user.get'],
        ['frappe.*'],
        [GENERATE],
        [GENERATE, UPDATE],
        ['frappe.core.*', UPDATE, 'user.*'],
      ];
      const ATOMS = ['*', 'auth.*', UPDATE, 'auth.keys.get', 'auth.keys.*', 'auth.verify', 'user.get', 'user.*', GENERATE, 'frappe.*'];
      /** Every method, and a method not written yet in each family the atoms name: what a scope list allows, read independently. */
      const PROBES = [...methodTable.map((m) => m.name), 'zz_new', 'auth.zz_new', 'auth.keys.zz_new', 'user.zz_new', 'frappe.zz_new', 'frappe.core.zz_new'];
      const allowsNoMore = (holder: readonly string[], key: readonly string[]) => PROBES.every((m) => !scopesAllow(key, m) || scopesAllow(holder, m));
      const TARGETS = { self: null, peer: [SM], boss: [SM, 'Auditor'], plain: [] } as const;

      const scopes = fc.subarray(ATOMS, { maxLength: 3 });
      /** Minutes from the caller's expiry (or from two hours ahead, for a caller that never expires); always in the future. */
      const offset = fc.integer({ min: -50, max: 50 });
      // Requests are drawn partly from the caller's own scopes, so calls within it are common too.
      const scenario = fc.constantFrom(...CALLER_SCOPES).chain((callerScopes) =>
        fc.record({
          callerScopes: fc.constant(callerScopes),
          callerExpires: fc.option(fc.integer({ min: 60, max: 180 }), { nil: null }),
          method: fc.constantFrom(GENERATE, UPDATE),
          target: fc.constantFrom(...(Object.keys(TARGETS) as (keyof typeof TARGETS)[])),
          targetKey: fc.option(fc.record({ scopes, expires: fc.option(offset, { nil: null }) }), { nil: null }),
          askScopes: fc.oneof(fc.constant(undefined), scopes, fc.subarray(callerScopes, { minLength: Math.min(1, callerScopes.length) })),
          askExpires: fc.oneof(fc.constant(undefined), fc.constant(null), offset),
        }),
      );

      it('either refused with -32003 and nothing changed, or the stored key is within the caller', async () => {
        const seen = { refused: 0, restrictedAllowed: 0 };
        await fc.assert(
          fc.asyncProperty(scenario, async (s) => {
            const callerExpiresAt = s.callerExpires === null ? null : inMs(s.callerExpires * MINUTE);
            const base = callerExpiresAt === null ? Date.now() + 2 * HOUR : Date.parse(callerExpiresAt);
            const at = (minutes: number) => new Date(base + minutes * MINUTE).toISOString();
            const caller = await user([SM], { scopes: s.callerScopes, expires_at: callerExpiresAt });
            const self = s.target === 'self';
            // auth.keys.update needs a key to change; a caller's own key always exists.
            const targetKey = s.targetKey ?? (s.method === UPDATE ? { scopes: [], expires: null } : null);
            const target = self
              ? caller
              : await user(
                  [...TARGETS[s.target]!],
                  targetKey ? { scopes: targetKey.scopes, expires_at: targetKey.expires === null ? null : at(targetKey.expires) } : undefined,
                );
            const existing = self
              ? { scopes: s.callerScopes, expiresAt: callerExpiresAt }
              : targetKey && { scopes: targetKey.scopes, expiresAt: targetKey.expires === null ? null : at(targetKey.expires) };

            const params: Record<string, unknown> = { user: target.name };
            if (s.askScopes !== undefined) params.scopes = s.askScopes;
            if (s.askExpires !== undefined) params.expires_at = s.askExpires === null ? null : at(s.askExpires);
            if (s.method === UPDATE && Object.keys(params).length === 1) params.scopes = existing!.scopes; // it needs something to change

            const before = await storedKey(target.name);
            const reply = await svc.call(s.method, params, caller.token);
            const after = await storedKey(target.name);

            // What the service should decide, from an independent reading of the rules.
            const resultScopes = (params.scopes as string[] | undefined) ?? existing?.scopes ?? [];
            const resultExpiry = params.expires_at !== undefined ? (params.expires_at as string | null) : (existing?.expiresAt ?? null);
            const isRestricted = (s.callerScopes.length > 0 && !s.callerScopes.includes('*')) || callerExpiresAt !== null;
            const within =
              allowsNoMore(s.callerScopes, resultScopes) &&
              (callerExpiresAt === null || (resultExpiry !== null && Date.parse(resultExpiry) <= Date.parse(callerExpiresAt))) &&
              (self || TARGETS[s.target]!.every((r) => r === SM));
            const expectRefusal = !scopesAllow(s.callerScopes, s.method) || (isRestricted && !within);

            if (reply.body.error) {
              expect(reply.body.error.code, reply.text).to.equal(-32003);
              expect(after, 'a refusal changes nothing').to.equal(before);
              expect(expectRefusal, `refused, though within the caller: ${reply.text}`).to.equal(true);
              seen.refused++;
              return;
            }
            expectResult(reply);
            expect(expectRefusal, `allowed, though beyond the caller: ${JSON.stringify(s)}`).to.equal(false);
            const stored = JSON.parse(after) as { scopes: string[]; expires_at: string | null };
            expect(stored.scopes).to.deep.equal(resultScopes);
            expect(stored.expires_at === null ? null : Date.parse(stored.expires_at)).to.equal(resultExpiry === null ? null : Date.parse(resultExpiry));
            // The promise itself, on what was stored.
            if (isRestricted) {
              seen.restrictedAllowed++;
              expect(allowsNoMore(s.callerScopes, stored.scopes), `scopes ${JSON.stringify(stored.scopes)} within ${JSON.stringify(s.callerScopes)}`).to.equal(
                true,
              );
              if (callerExpiresAt !== null) {
                expect(stored.expires_at).to.not.equal(null);
                expect(Date.parse(stored.expires_at!)).to.be.at.most(Date.parse(callerExpiresAt));
              }
            }
          }),
          { seed, numRuns: 50 },
        );
        console.log(`      ${seen.refused} refused, ${seen.restrictedAllowed} allowed to a restricted token`);
        // Both sides of the property were exercised, or it proves little.
        expect(seen.refused).to.be.above(0);
        expect(seen.restrictedAllowed).to.be.above(0);
      });
    });
  });
});
