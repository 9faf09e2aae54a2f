/**
 * Containment for rate limits and credits (src/auth/limit-containment.ts,
 * docs/limits.md#containment): a call made with a token that has rate
 * limits or credits never creates or updates a key that can do more. The
 * pure rule is checked by a property; the service over real HTTP: each
 * refusal is -32003 and writes nothing, and credits granted are paid for,
 * exactly, from the caller's own balance.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { useService, expectError, expectResult, tokenOf } from './harness.js';
import { AppError } from '../src/errors.js';
import { checkLimits, creditsGranted, rateWithin, type LimitCredential } from '../src/auth/limit-containment.js';
import { limitsOf, type RateLimitRule } from '../src/store/key-limits.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
const UPDATE = 'auth.keys.update';
const SM = 'System Manager';
const DAY = 86_400_000;

describe('containment of rate limits and credits', () => {
  describe('the pure rule', () => {
    const rule = fc.record({ name: fc.constantFrom('a', 'b', 'c'), limit: fc.integer({ min: 1, max: 20 }), duration_ms: fc.integer({ min: 100, max: 2000 }) });

    it("admits a key only if, for each of the holder's limits, it has one allowing no more calls in no shorter a window", () => {
      fc.assert(
        fc.property(fc.array(rule, { maxLength: 3 }), fc.array(rule, { maxLength: 3 }), (holder, key) => {
          const limits = limitsOf({ ratelimits: holder })!;
          const cred: LimitCredential = { ratelimits: key, credits: null, kept: { ratelimits: false, credits: false }, self: false, issuesSecret: false };
          let ok = true;
          try {
            checkLimits(limits, cred);
          } catch (err) {
            expect((err as AppError).kind).to.equal('permission_denied');
            ok = false;
          }
          // Independently: every holder limit h is matched by some key limit k that admits no more in any window of h's length.
          const within = (h: RateLimitRule) => key.some((k) => k.limit <= h.limit && k.duration_ms >= h.duration_ms);
          expect(ok).to.equal(holder.every(within));
        }),
      );
    });

    it('a tighter rule is within, a looser one is not', () => {
      expect(rateWithin({ name: 'h', limit: 10, duration_ms: 1000 }, { name: 'k', limit: 10, duration_ms: 1000 })).to.equal(true);
      expect(rateWithin({ name: 'h', limit: 10, duration_ms: 1000 }, { name: 'k', limit: 5, duration_ms: 60_000 })).to.equal(true);
      expect(rateWithin({ name: 'h', limit: 10, duration_ms: 1000 }, { name: 'k', limit: 11, duration_ms: 60_000 })).to.equal(false);
      expect(rateWithin({ name: 'h', limit: 10, duration_ms: 1000 }, { name: 'k', limit: 1, duration_ms: 999 })).to.equal(false);
    });

    it('charges credits given, not credits kept', () => {
      const holder = limitsOf({ credits: { remaining: 5, refill: null, period: 0, generation: 'g' } });
      const given: LimitCredential = {
        ratelimits: [],
        credits: { remaining: 3 },
        kept: { ratelimits: false, credits: false },
        self: false,
        issuesSecret: false,
      };
      expect(creditsGranted(holder, given)).to.equal(3);
      expect(creditsGranted(holder, { ...given, kept: { ratelimits: false, credits: true } })).to.equal(0);
      expect(creditsGranted(null, given)).to.equal(0);
    });
  });

  describe('through the service', () => {
    const svc = useService();

    /** A System Manager whose token has `key` (ratelimits, credits). */
    async function managerWith(key: Record<string, unknown>) {
      const name = await svc.newUser([SM]);
      return tokenOf(await svc.asAdmin(GENERATE, { user: name, ...key }));
    }

    it('a rate-limited token cannot issue a key without a limit as tight, and may with one', async () => {
      const token = await managerWith({ ratelimits: [{ name: 'm', limit: 10, duration_ms: 60_000 }] });
      const target = await svc.newUser();
      const keys = svc.collection('api_keys');
      const error = expectError(await svc.call(GENERATE, { user: target }, token), -32003);
      expect(error.message).to.match(/at least as tight as this token's m/);
      expectError(await svc.call(GENERATE, { user: target, ratelimits: [{ name: 'x', limit: 11, duration_ms: 60_000 }] }, token), -32003);
      expectError(await svc.call(GENERATE, { user: target, ratelimits: [{ name: 'x', limit: 10, duration_ms: 1000 }] }, token), -32003);
      expect(await keys.findOne({ user: target }), 'a refusal writes nothing').to.equal(null);
      const made = expectResult(await svc.call(GENERATE, { user: target, ratelimits: [{ name: 'x', limit: 5, duration_ms: DAY }] }, token));
      expect(made.ratelimits).to.deep.equal([{ name: 'x', limit: 5, duration_ms: DAY }]);
      // Loosening it afterwards is refused too, and so is keeping a key's looser limits.
      expectError(await svc.call(UPDATE, { user: target, ratelimits: [] }, token), -32003);
      const loose = await svc.newUser();
      await svc.asAdmin(GENERATE, { user: loose, ratelimits: [{ name: 'l', limit: 1000, duration_ms: 1000 }] });
      expect(expectError(await svc.call(UPDATE, { user: loose, scopes: ['auth.verify'] }, token), -32003).message).to.match(/kept from the key/);
    });

    it('a token with credits cannot issue an unlimited key, nor a refill; credits it grants come out of its own balance', async () => {
      const token = await managerWith({ credits: { remaining: 20 } });
      const target = await svc.newUser();
      expect(expectError(await svc.call(GENERATE, { user: target }, token), -32003).message).to.match(/without credits/);
      expect(
        expectError(await svc.call(GENERATE, { user: target, credits: { remaining: 1, refill: { amount: 1, interval: 'daily' } } }, token), -32003).message,
      ).to.match(/refill/);
      // Those refusals cost a call each: 20 - 2 = 18. Granting 10 costs this call (1) and the 10 granted.
      const made = expectResult(await svc.call(GENERATE, { user: target, credits: { remaining: 10 } }, token));
      expect(made.credits).to.deep.equal({ remaining: 10, refill: null });
      const me = expectResult(await svc.call('auth.verify', {}, token));
      expect(me.credits).to.equal(20 - 2 - 1 - 10 - 1);
      // More than it has left: refused, nothing written (the token's own shares aside, its calls write only its own key).
      const keys = svc.collection('api_keys');
      const before = JSON.stringify(await keys.findOne({ user: target }));
      expect(expectError(await svc.call(UPDATE, { user: target, credits: { remaining: 100 } }, token), -32003).message).to.match(/granting 100 credits/);
      expect(JSON.stringify(await keys.findOne({ user: target }))).to.equal(before);
      // Changing something else keeps the key's credits: not charged again.
      expectResult(await svc.call(UPDATE, { user: target, scopes: ['auth.verify'] }, token));
      expect(expectResult(await svc.call('auth.verify', {}, token)).credits).to.equal(6 - 1 - 1 - 1);
    });

    it('a token with credits rotates its own key, keeping its own balance and refill', async () => {
      const name = await svc.newUser([SM]);
      const token = tokenOf(await svc.asAdmin(GENERATE, { user: name, credits: { remaining: 50, refill: { amount: 50, interval: 'daily' } } }));
      const rotated = expectResult(await svc.call(GENERATE, { user: name }, token));
      expect(rotated.credits.refill).to.deep.equal({ amount: 50, interval: 'daily' });
    });

    it('a rate-limited token cannot rename or re-window its own limits to start its count again (outside attacker)', async () => {
      const name = await svc.newUser([SM]);
      const token = tokenOf(await svc.asAdmin(GENERATE, { user: name, ratelimits: [{ name: 'm', limit: 12, duration_ms: DAY }] }));
      for (let i = 0; i < 3; i++) expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
      const renamed = [{ name: 'm2', limit: 12, duration_ms: DAY }];
      const longer = [{ name: 'm', limit: 12, duration_ms: 2 * DAY }];
      for (const ratelimits of [renamed, longer]) {
        expect(expectError(await svc.call(UPDATE, { user: name, ratelimits }, token), -32003).message).to.match(/its own key's rate limits/);
        expect(expectError(await svc.call(GENERATE, { user: name, ratelimits }, token), -32003).message).to.match(/its own key's rate limits/);
      }
      // Keeping it, or adding one, is fine, and the count goes on: 3 calls, 4 refused changes and this one are 8 of 12.
      expectResult(
        await svc.call(
          UPDATE,
          {
            user: name,
            ratelimits: [
              { name: 'm', limit: 12, duration_ms: DAY },
              { name: 'extra', limit: 100, duration_ms: DAY },
            ],
          },
          token,
        ),
      );
      let admitted = 0;
      for (let i = 0; i < 10; i++) if ((await svc.call('frappe.auth.get_logged_user', {}, token)).status === 200) admitted++;
      expect(admitted, 'the window was not started again').to.equal(4);
    });

    it("a token with credits cannot rotate another user's key that keeps a balance of its own: it must give (and pay for) credits (outside attacker)", async () => {
      const token = await managerWith({ credits: { remaining: 30 } });
      const rich = await svc.newUser([SM]);
      await svc.asAdmin(GENERATE, { user: rich, credits: { remaining: 1_000_000 } });
      const before = JSON.stringify(await svc.collection('api_keys').findOne({ user: rich }));
      expect(expectError(await svc.call(GENERATE, { user: rich }, token), -32003).message).to.match(/give credits/);
      expect(JSON.stringify(await svc.collection('api_keys').findOne({ user: rich })), 'nothing written').to.equal(before);
      const made = expectResult(await svc.call(GENERATE, { user: rich, credits: { remaining: 5 } }, token));
      expect(made.credits.remaining).to.equal(5);
      // Updating it (no secret handed out) may keep its balance.
      expectResult(await svc.call(UPDATE, { user: rich, scopes: ['auth.verify'] }, token));
    });

    it('the CLI operator holds no token: no limits, no containment', async () => {
      const target = await svc.newUser();
      const made = await svc.asAdmin(GENERATE, { user: target, credits: { remaining: 1_000_000, refill: { amount: 1_000_000, interval: 'monthly' } } });
      expect(made.credits.remaining).to.equal(1_000_000);
    });
  });
});
