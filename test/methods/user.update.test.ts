import { expect } from 'chai';
import { useService, expectError, expectResult } from '../harness.js';

describe('user.update', () => {
  // A fresh service: it checks Administrator, and fixed names.
  const svc = useService();
  let plain: string;
  before(async () => {
    plain = await svc.userWithToken('plain@example.com', ['Token Verifier']);
  });

  const users = () => svc.collection('users');

  describe('success', () => {
    it('changes only the given fields and stores them', async () => {
      await svc.asAdmin('user.create', { name: 'upd', full_name: 'Before', roles: ['A'] });
      const user = expectResult(await svc.call('user.update', { name: 'upd', full_name: 'After' }));
      expect(user).to.include({ full_name: 'After', enabled: true });
      expect(user.roles).to.deep.equal(['A']);
      expect(user.modified_at >= user.created_at).to.equal(true);
      expect((await users().findOne({ name: 'upd' }))!.full_name).to.equal('After');
    });
  });

  describe('not found', () => {
    it('gives -32004 for an unknown user', async () => {
      expectError(await svc.call('user.update', { name: 'nobody', enabled: false }), -32004);
    });
  });

  describe('permission', () => {
    it('keeps Administrator enabled and a System Manager (-32003)', async () => {
      expectError(await svc.call('user.update', { name: 'Administrator', enabled: false }), -32003);
      expectError(await svc.call('user.update', { name: 'Administrator', roles: [] }), -32003);
      expect((await users().findOne({ name: 'Administrator' }))!.enabled).to.equal(true);
    });
    it('is refused without System Manager (-32003), and changes nothing', async () => {
      expectError(await svc.call('user.update', { name: 'plain@example.com', roles: ['System Manager'] }, plain), -32003);
      expect((await users().findOne({ name: 'plain@example.com' }))!.roles).to.deep.equal(['Token Verifier']);
    });
  });

  describe('bad params', () => {
    it('gives -32602 for bad params, including nothing to change', async () => {
      expectError(await svc.call('user.update', { name: 'upd' }), -32602);
      expectError(await svc.call('user.update', { name: 'upd', name2: 'x' }), -32602);
      expectError(await svc.call('user.update', { name: 'upd', enabled: { $ne: true } }), -32602);
    });
  });

  describe('storage', () => {
    it('writes roles and enabled, moves modified_at and keeps created_at, and audits the change', async () => {
      await svc.asAdmin('user.create', { name: 'stored@example.com' });
      const created = (await users().findOne({ name: 'stored@example.com' }))!;
      expectResult(await svc.call('user.update', { name: 'stored@example.com', roles: ['Auditor'], enabled: false }));
      const doc = (await users().findOne({ name: 'stored@example.com' }))!;
      expect(doc).to.include({ full_name: 'stored@example.com', enabled: false });
      expect(doc.roles).to.deep.equal(['Auditor']);
      expect(doc.created_at).to.deep.equal(created.created_at);
      expect(doc.modified_at.getTime()).to.be.at.least(created.modified_at.getTime());
      const [entry] = expectResult(await svc.call('auth.audit.list', { user: 'stored@example.com', action: 'user.update' }));
      expect(entry).to.include({ actor: 'Administrator', target: 'stored@example.com' });
    });
  });
});
