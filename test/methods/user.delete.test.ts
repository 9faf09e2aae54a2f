import { expect } from 'chai';
import { useService, bearer, expectError, expectResult } from '../harness.js';

describe('user.delete', () => {
  // A fresh service: it checks Administrator, and fixed names.
  const svc = useService();
  let plain: string;
  before(async () => {
    plain = await svc.userWithToken('plain@example.com', ['Token Verifier']);
  });

  const users = () => svc.collection('users');

  describe('success', () => {
    it('deletes the user and its keys', async () => {
      const token = await svc.userWithToken('gone');
      expectResult(await svc.call('user.delete', { name: 'gone' }));
      expect(await users().countDocuments({ name: 'gone' })).to.equal(0);
      expect(await svc.collection('api_keys').countDocuments({ user: 'gone' })).to.equal(0);
      expectError(await svc.post({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }, bearer(token)), -32001, 401);
    });
  });

  describe('not found', () => {
    it('gives -32004 for an unknown user', async () => {
      expectError(await svc.call('user.delete', { name: 'gone' }), -32004);
    });
  });

  describe('permission', () => {
    it('refuses to delete Administrator (-32003)', async () => {
      expectError(await svc.call('user.delete', { name: 'Administrator' }), -32003);
    });
    it('is refused without System Manager (-32003), and deletes nothing', async () => {
      await svc.asAdmin('user.create', { name: 'kept' });
      expectError(await svc.call('user.delete', { name: 'kept' }, plain), -32003);
      expect(await users().countDocuments({ name: 'kept' })).to.equal(1);
    });
  });

  describe('bad params', () => {
    it('gives -32602 for bad params', async () => {
      expectError(await svc.call('user.delete', {}), -32602);
      expectError(await svc.call('user.delete', { name: { $gt: '' } }), -32602);
    });
  });

  describe('storage', () => {
    it('removes only that user and its key, answers {name, deleted}, and audits the deletion', async () => {
      await svc.userWithToken('doomed@example.com');
      await svc.userWithToken('neighbour@example.com');
      expect(expectResult(await svc.call('user.delete', { name: 'doomed@example.com' }))).to.deep.equal({ name: 'doomed@example.com', deleted: true });
      expect(await users().countDocuments({ name: 'doomed@example.com' })).to.equal(0);
      expect(await svc.collection('api_keys').countDocuments({ user: 'doomed@example.com' })).to.equal(0);
      expect(await users().countDocuments({ name: 'neighbour@example.com' })).to.equal(1);
      expect(await svc.collection('api_keys').countDocuments({ user: 'neighbour@example.com' })).to.equal(1);
      const [entry] = expectResult(await svc.call('auth.audit.list', { user: 'doomed@example.com', action: 'user.delete' }));
      expect(entry).to.include({ actor: 'Administrator', target: 'doomed@example.com' });
    });
  });
});
