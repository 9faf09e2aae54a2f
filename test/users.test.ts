import { expect } from 'chai';
import { startService, bearer, expectError, expectResult, type TestService } from './harness.js';

describe('user methods', () => {
  let svc: TestService;
  let plain: string;
  before(async () => {
    svc = await startService();
    plain = await svc.userWithToken('plain@example.com', ['Token Verifier']);
  });
  after(async () => svc.close());

  const users = () => svc.app.services.storage.db.collection('users');

  describe('user.create', () => {
    it('creates a user with defaults, and stores it', async () => {
      const user = expectResult(await svc.call('user.create', { name: 'dev@example.com' }));
      expect(user).to.include({ name: 'dev@example.com', full_name: 'dev@example.com', enabled: true });
      expect(user.roles).to.deep.equal([]);
      expect(await users().countDocuments({ name: 'dev@example.com' })).to.equal(1);
    });

    it('takes full_name, roles and enabled', async () => {
      const user = expectResult(
        await svc.call('user.create', { name: 'Ops', full_name: 'Ops Team', roles: ['System Manager'], enabled: false }),
      );
      expect(user).to.include({ name: 'Ops', full_name: 'Ops Team', enabled: false });
      expect(user.roles).to.deep.equal(['System Manager']);
    });

    it('gives -32009 for a duplicate name and keeps the original', async () => {
      await svc.call('user.create', { name: 'dup', full_name: 'First' });
      const err = expectError(await svc.call('user.create', { name: 'dup', full_name: 'Second' }), -32009);
      expect(err.message).to.equal('User dup already exists');
      expect((await users().findOne({ name: 'dup' }))!.full_name).to.equal('First');
      expect(await users().countDocuments({ name: 'dup' })).to.equal(1);
    });

    it('is refused to a caller without System Manager (-32003), and stores nothing', async () => {
      expectError(await svc.call('user.create', { name: 'sneaky' }, plain), -32003);
      expect(await users().countDocuments({ name: 'sneaky' })).to.equal(0);
    });

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

  describe('user.get', () => {
    it('reads a user, without internal fields', async () => {
      const user = expectResult(await svc.call('user.get', { name: 'Administrator' }));
      expect(user).to.have.keys('name', 'full_name', 'roles', 'enabled', 'created_at', 'modified_at');
    });
    it('gives -32004 for an unknown user', async () => {
      expectError(await svc.call('user.get', { name: 'nobody' }), -32004);
    });
    it('is refused without System Manager (-32003)', async () => {
      expectError(await svc.call('user.get', { name: 'Administrator' }, plain), -32003);
    });
    it('gives -32602 for bad params', async () => {
      expectError(await svc.call('user.get', { name: null }), -32602);
    });
  });

  describe('user.list', () => {
    it('lists users by name a page at a time', async () => {
      for (const n of ['list-a', 'list-b', 'list-c']) await svc.asAdmin('user.create', { name: n });
      const all = expectResult(await svc.call('user.list', {}));
      const names = all.map((u: { name: string }) => u.name);
      expect(names).to.deep.equal([...names].sort());
      expect(names).to.include.members(['Administrator', 'list-a', 'list-b', 'list-c']);
      const i = names.indexOf('list-a');
      const page = expectResult(await svc.call('user.list', { start: i + 1, limit: 1 }));
      expect(page.map((u: { name: string }) => u.name)).to.deep.equal(['list-b']);
      expect(expectResult(await svc.call('user.list', [i, 2])).map((u: { name: string }) => u.name)).to.deep.equal(['list-a', 'list-b']);
    });
    it('is refused without System Manager (-32003)', async () => {
      expectError(await svc.call('user.list', {}, plain), -32003);
    });
    it('gives -32602 for bad params', async () => {
      expectError(await svc.call('user.list', { limit: 0 }), -32602);
      expectError(await svc.call('user.list', { limit: 1001 }), -32602);
      expectError(await svc.call('user.list', { start: -1 }), -32602);
      expectError(await svc.call('user.list', { start: 1.5 }), -32602);
    });
  });

  describe('user.update', () => {
    it('changes only the given fields and stores them', async () => {
      await svc.asAdmin('user.create', { name: 'upd', full_name: 'Before', roles: ['A'] });
      const user = expectResult(await svc.call('user.update', { name: 'upd', full_name: 'After' }));
      expect(user).to.include({ full_name: 'After', enabled: true });
      expect(user.roles).to.deep.equal(['A']);
      expect(user.modified_at >= user.created_at).to.equal(true);
      expect((await users().findOne({ name: 'upd' }))!.full_name).to.equal('After');
    });
    it('gives -32004 for an unknown user', async () => {
      expectError(await svc.call('user.update', { name: 'nobody', enabled: false }), -32004);
    });
    it('keeps Administrator enabled and a System Manager (-32003)', async () => {
      expectError(await svc.call('user.update', { name: 'Administrator', enabled: false }), -32003);
      expectError(await svc.call('user.update', { name: 'Administrator', roles: [] }), -32003);
      expect((await users().findOne({ name: 'Administrator' }))!.enabled).to.equal(true);
    });
    it('is refused without System Manager (-32003), and changes nothing', async () => {
      expectError(await svc.call('user.update', { name: 'plain@example.com', roles: ['System Manager'] }, plain), -32003);
      expect((await users().findOne({ name: 'plain@example.com' }))!.roles).to.deep.equal(['Token Verifier']);
    });
    it('gives -32602 for bad params, including nothing to change', async () => {
      expectError(await svc.call('user.update', { name: 'upd' }), -32602);
      expectError(await svc.call('user.update', { name: 'upd', name2: 'x' }), -32602);
      expectError(await svc.call('user.update', { name: 'upd', enabled: { $ne: true } }), -32602);
    });
  });

  describe('user.delete', () => {
    it('deletes the user and its keys', async () => {
      const token = await svc.userWithToken('gone');
      expectResult(await svc.call('user.delete', { name: 'gone' }));
      expect(await users().countDocuments({ name: 'gone' })).to.equal(0);
      expect(await svc.app.services.storage.db.collection('api_keys').countDocuments({ user: 'gone' })).to.equal(0);
      expectError(await svc.post({ jsonrpc: '2.0', id: 1, method: 'auth.verify' }, bearer(token)), -32001, 401);
    });
    it('gives -32004 for an unknown user', async () => {
      expectError(await svc.call('user.delete', { name: 'gone' }), -32004);
    });
    it('refuses to delete Administrator (-32003)', async () => {
      expectError(await svc.call('user.delete', { name: 'Administrator' }), -32003);
    });
    it('is refused without System Manager (-32003), and deletes nothing', async () => {
      await svc.asAdmin('user.create', { name: 'kept' });
      expectError(await svc.call('user.delete', { name: 'kept' }, plain), -32003);
      expect(await users().countDocuments({ name: 'kept' })).to.equal(1);
    });
    it('gives -32602 for bad params', async () => {
      expectError(await svc.call('user.delete', {}), -32602);
      expectError(await svc.call('user.delete', { name: { $gt: '' } }), -32602);
    });
  });
});
