import { expect } from 'chai';
import { useService, expectError, expectResult } from '../harness.js';

describe('user.create', () => {
  // A fresh service: the names below (dup, ok, ...) are fixed.
  const svc = useService();
  let plain: string;
  before(async () => {
    plain = await svc.userWithToken('plain@example.com', ['Token Verifier']);
  });

  const users = () => svc.collection('users');

  describe('success', () => {
    it('creates a user with defaults, and stores it', async () => {
      const user = expectResult(await svc.call('user.create', { name: 'dev@example.com' }));
      expect(user).to.include({ name: 'dev@example.com', full_name: 'dev@example.com', enabled: true });
      expect(user.roles).to.deep.equal([]);
      expect(await users().countDocuments({ name: 'dev@example.com' })).to.equal(1);
    });

    it('takes full_name, roles and enabled', async () => {
      const user = expectResult(await svc.call('user.create', { name: 'Ops', full_name: 'Ops Team', roles: ['System Manager'], enabled: false }));
      expect(user).to.include({ name: 'Ops', full_name: 'Ops Team', enabled: false });
      expect(user.roles).to.deep.equal(['System Manager']);
    });
  });

  describe('permission', () => {
    it('is refused to a caller without System Manager (-32003), and stores nothing', async () => {
      expectError(await svc.call('user.create', { name: 'sneaky' }, plain), -32003);
      expect(await users().countDocuments({ name: 'sneaky' })).to.equal(0);
    });
  });

  describe('bad params', () => {
    it('gives -32602 for bad params', async () => {
      for (const params of [
        {},
        { name: '' },
        { name: 'has space' },
        { name: '$ne' },
        { name: 'x'.repeat(141) },
        { name: 'ok', roles: 'System Manager' },
        { name: 'ok', roles: ['a', 'a'] },
        { name: 'ok', enabled: 'yes' },
        { name: 'ok', admin: true },
      ]) {
        expectError(await svc.call('user.create', params), -32602);
      }
      expect(await users().countDocuments({ name: 'ok' })).to.equal(0);
    });
  });

  describe('storage', () => {
    it('gives -32009 for a duplicate name and keeps the original', async () => {
      await svc.call('user.create', { name: 'dup', full_name: 'First' });
      const err = expectError(await svc.call('user.create', { name: 'dup', full_name: 'Second' }), -32009);
      expect(err.message).to.equal('User dup already exists');
      expect((await users().findOne({ name: 'dup' }))!.full_name).to.equal('First');
      expect(await users().countDocuments({ name: 'dup' })).to.equal(1);
    });

    it('stores the fields given, with its creation time, and audits the creation', async () => {
      const user = expectResult(await svc.call('user.create', { name: 'stored@example.com', full_name: 'Stored', roles: ['Auditor'] }));
      const doc = await users().findOne({ name: 'stored@example.com' });
      expect(doc).to.include({ name: 'stored@example.com', full_name: 'Stored', enabled: true });
      expect(doc!.roles).to.deep.equal(['Auditor']);
      expect(doc!.created_at.toISOString()).to.equal(user.created_at);
      const [entry] = expectResult(await svc.call('auth.audit.list', { user: 'stored@example.com' }));
      expect(entry).to.include({ action: 'user.create', actor: 'Administrator', target: 'stored@example.com' });
    });
  });
});
