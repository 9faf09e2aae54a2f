import { expect } from 'chai';
import { newApiSecret } from '../../src/auth/token.js';
import { useService, expectError, expectResult } from '../harness.js';

describe('auth.verify', () => {
  // A fresh service: fixed names.
  const svc = useService();
  let verifier: string;
  let plain: string;
  let other: string;
  before(async () => {
    verifier = await svc.userWithToken('gateway', ['Token Verifier']);
    plain = await svc.userWithToken('plain');
    other = await svc.userWithToken('other@example.com', ['Reader']);
  });

  describe('success', () => {
    it("returns the caller's identity without a token param", async () => {
      const result = expectResult(await svc.call('auth.verify', undefined, plain));
      expect(result).to.deep.equal({
        valid: true,
        user: 'plain',
        roles: [],
        api_key: plain.split(':')[0],
        scopes: [],
        expires_at: null,
        credits: null,
        ratelimits: [],
        ip_allowlist: [],
      });
    });

    it('checks another token for a Token Verifier or a System Manager', async () => {
      for (const caller of [verifier, svc.adminToken]) {
        const result = expectResult(await svc.call('auth.verify', { token: other }, caller));
        expect(result).to.deep.equal({
          valid: true,
          user: 'other@example.com',
          roles: ['Reader'],
          api_key: other.split(':')[0],
          scopes: [],
          expires_at: null,
          credits: null,
          ratelimits: [],
          ip_allowlist: [],
        });
      }
      expect(expectResult(await svc.call('auth.verify', [other], verifier)).user).to.equal('other@example.com');
    });

    it("reports the checked token's ip_allowlist (canonical), which the verifying service enforces for its own callers", async () => {
      await svc.asAdmin('auth.keys.update', { user: 'other@example.com', ip_allowlist: ['::ffff:203.0.113.0/120', '2001:DB8::/32'] });
      try {
        expect(expectResult(await svc.call('auth.verify', { token: other }, verifier)).ip_allowlist).to.deep.equal(['203.0.113.0/24', '2001:db8::/32']);
      } finally {
        await svc.asAdmin('auth.keys.update', { user: 'other@example.com', ip_allowlist: [] });
      }
    });
  });

  describe('permission', () => {
    it('refuses to check another token for a caller without the role (-32003)', async () => {
      const err = expectError(await svc.call('auth.verify', { token: other }, plain), -32003);
      expect(err.message).to.match(/System Manager or Token Verifier/);
    });

    it('needs a valid token of its own (401)', async () => {
      expectError(await svc.call('auth.verify', { token: other }, null), -32001, 401);
    });
  });

  describe('bad params', () => {
    it('gives -32602 for bad params', async () => {
      expectError(await svc.call('auth.verify', { token: 5 }, verifier), -32602);
      expectError(await svc.call('auth.verify', { token: '' }, verifier), -32602);
      expectError(await svc.call('auth.verify', { user: 'x' }, verifier), -32602);
    });
  });

  describe('storage', () => {
    it('answers {valid: false} for a bad, wrong or disabled token, with no reason', async () => {
      const key = other.split(':')[0];
      for (const token of ['garbage', `${key}:${newApiSecret()}`, `${key}:`]) {
        expect(expectResult(await svc.call('auth.verify', { token }, verifier))).to.deep.equal({ valid: false });
      }
      await svc.asAdmin('user.update', { name: 'other@example.com', enabled: false });
      expect(expectResult(await svc.call('auth.verify', { token: other }, verifier))).to.deep.equal({ valid: false });
      await svc.asAdmin('user.update', { name: 'other@example.com', enabled: true });
    });

    it('reads the roles and scopes as stored now, and writes no user, key or audit entry', async () => {
      await svc.asAdmin('user.update', { name: 'other@example.com', roles: ['Reader', 'Auditor'] });
      await svc.asAdmin('auth.keys.update', { user: 'other@example.com', scopes: ['auth.*'] });
      try {
        const before = await svc.stored();
        const result = expectResult(await svc.call('auth.verify', { token: other }, verifier));
        expect(result).to.deep.include({ user: 'other@example.com', roles: ['Reader', 'Auditor'], scopes: ['auth.*'] });
        expect(expectResult(await svc.call('auth.verify', {}, other)).scopes).to.deep.equal(['auth.*']);
        expect(await svc.stored()).to.equal(before);
      } finally {
        await svc.asAdmin('user.update', { name: 'other@example.com', roles: ['Reader'] });
        await svc.asAdmin('auth.keys.update', { user: 'other@example.com', scopes: [] });
      }
    });
  });
});
