import { expect } from 'chai';
import { newApiSecret } from '../src/auth/token.js';
import { startService, expectError, expectResult, type TestService } from './harness.js';

describe('auth.verify', () => {
  let svc: TestService;
  let verifier: string;
  let plain: string;
  let other: string;
  before(async () => {
    svc = await startService();
    verifier = await svc.userWithToken('gateway', ['Token Verifier']);
    plain = await svc.userWithToken('plain');
    other = await svc.userWithToken('other@example.com', ['Reader']);
  });
  after(async () => svc.close());

  it("returns the caller's identity without a token param", async () => {
    const result = expectResult(await svc.call('auth.verify', undefined, plain));
    expect(result).to.deep.equal({ valid: true, user: 'plain', roles: [], api_key: plain.split(':')[0], scopes: [], expires_at: null });
  });

  it('checks another token for a Token Verifier or a System Manager', async () => {
    for (const caller of [verifier, svc.adminToken]) {
      const result = expectResult(await svc.call('auth.verify', { token: other }, caller));
      expect(result).to.deep.equal({ valid: true, user: 'other@example.com', roles: ['Reader'], api_key: other.split(':')[0], scopes: [], expires_at: null });
    }
    expect(expectResult(await svc.call('auth.verify', [other], verifier)).user).to.equal('other@example.com');
  });

  it('answers {valid: false} for a bad, wrong or disabled token, with no reason', async () => {
    const key = other.split(':')[0];
    for (const token of ['garbage', `${key}:${newApiSecret()}`, `${key}:`]) {
      expect(expectResult(await svc.call('auth.verify', { token }, verifier))).to.deep.equal({ valid: false });
    }
    await svc.asAdmin('user.update', { name: 'other@example.com', enabled: false });
    expect(expectResult(await svc.call('auth.verify', { token: other }, verifier))).to.deep.equal({ valid: false });
    await svc.asAdmin('user.update', { name: 'other@example.com', enabled: true });
  });

  it('refuses to check another token for a caller without the role (-32003)', async () => {
    const err = expectError(await svc.call('auth.verify', { token: other }, plain), -32003);
    expect(err.message).to.match(/System Manager or Token Verifier/);
  });

  it('gives -32602 for bad params', async () => {
    expectError(await svc.call('auth.verify', { token: 5 }, verifier), -32602);
    expectError(await svc.call('auth.verify', { token: '' }, verifier), -32602);
    expectError(await svc.call('auth.verify', { user: 'x' }, verifier), -32602);
  });

  it('needs a valid token of its own (401)', async () => {
    expectError(await svc.call('auth.verify', { token: other }, null), -32001, 401);
  });
});

describe('frappe.auth.get_logged_user', () => {
  let svc: TestService;
  before(async () => (svc = await startService()));
  after(async () => svc.close());

  it("returns the caller's user name as a bare string", async () => {
    const token = await svc.userWithToken('someone@example.com');
    expect(expectResult(await svc.call('frappe.auth.get_logged_user', undefined, token))).to.equal('someone@example.com');
    expect(expectResult(await svc.call('frappe.auth.get_logged_user', {}))).to.equal('Administrator');
  });

  it('needs a valid token (401)', async () => {
    expectError(await svc.call('frappe.auth.get_logged_user', undefined, null), -32001, 401);
  });

  it('gives -32602 for any param', async () => {
    expectError(await svc.call('frappe.auth.get_logged_user', { user: 'x' }), -32602);
    expectError(await svc.call('frappe.auth.get_logged_user', ['x']), -32602);
  });
});
