import { expect } from 'chai';
import { useService, expectError, expectResult } from '../harness.js';

describe('user.get', () => {
  const svc = useService();
  let plain: string;
  before(async () => {
    plain = await svc.userWithToken('plain@example.com', ['Token Verifier']);
  });

  describe('success', () => {
    it('reads a user, without internal fields', async () => {
      const user = expectResult(await svc.call('user.get', { name: 'Administrator' }));
      expect(user).to.have.keys('name', 'full_name', 'roles', 'enabled', 'created_at', 'modified_at');
    });
  });

  describe('not found', () => {
    it('gives -32004 for an unknown user', async () => {
      expectError(await svc.call('user.get', { name: 'nobody' }), -32004);
    });
  });

  describe('permission', () => {
    it('is refused without System Manager (-32003)', async () => {
      expectError(await svc.call('user.get', { name: 'Administrator' }, plain), -32003);
    });
  });

  describe('bad params', () => {
    it('gives -32602 for bad params', async () => {
      expectError(await svc.call('user.get', { name: null }), -32602);
    });
  });

  describe('storage', () => {
    it('answers the user as stored at the time of the call, and writes nothing', async () => {
      await svc.asAdmin('user.create', { name: 'read@example.com', full_name: 'Before' });
      await svc.collection('users').updateOne({ name: 'read@example.com' }, { $set: { full_name: 'Changed in the database', roles: ['Auditor'] } });
      const before = await svc.stored();
      const user = expectResult(await svc.call('user.get', { name: 'read@example.com' }));
      expect(user).to.include({ name: 'read@example.com', full_name: 'Changed in the database', enabled: true });
      expect(user.roles).to.deep.equal(['Auditor']);
      expect(await svc.stored()).to.equal(before);
    });
  });
});
