/**
 * auth.audit.list: every change to users and keys is recorded with who, what,
 * when, from where and in which request, and never a secret.
 */
import { expect } from 'chai';
import { useService, bearer, expectError, expectResult } from '../harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('auth.audit.list', () => {
  // A fresh service: it counts and pages through the whole log.
  const svc = useService();
  const secrets: string[] = [];

  /** A JSON-RPC call as Administrator with a chosen request id. */
  async function call(method: string, params: unknown, requestId: string) {
    const reply = await svc.post({ jsonrpc: '2.0', id: 1, method, params }, { ...bearer(svc.adminToken), 'X-Request-Id': requestId });
    const result = expectResult(reply);
    if (result?.api_secret) secrets.push(result.api_secret);
    return result;
  }

  describe('success', () => {
    it('records each user and key change, newest first, with actor, target, address and request id', async () => {
      const user = 'audited@example.com';
      await call('user.create', { name: user }, 'r-create');
      await call('user.update', { name: user, full_name: 'Audited' }, 'r-update');
      const { api_key } = await call(GENERATE, { user }, 'r-generate');
      await call(GENERATE, { user, grace_seconds: 5 }, 'r-rotate');
      await call('auth.keys.update', { user, scopes: ['auth.verify'] }, 'r-key-update');
      await call('auth.keys.revoke', { user }, 'r-revoke');
      await call('user.delete', { name: user }, 'r-delete');

      const entries = expectResult(await svc.call('auth.audit.list', { user }));
      expect(entries.map((e: any) => [e.action, e.request_id])).to.deep.equal([
        ['user.delete', 'r-delete'],
        ['keys.revoke', 'r-revoke'],
        ['keys.update', 'r-key-update'],
        ['keys.rotate', 'r-rotate'],
        ['keys.generate', 'r-generate'],
        ['user.update', 'r-update'],
        ['user.create', 'r-create'],
      ]);
      for (const e of entries) {
        expect(e).to.include({ actor: 'Administrator', target: user, address: '127.0.0.1' });
        expect(Date.now() - Date.parse(e.at)).to.be.within(0, 60_000);
        if (e.action.startsWith('keys.')) expect(e.api_key).to.equal(api_key);
      }
      const stored = JSON.stringify(await svc.app.services.storage.db.collection('audit_log').find().toArray());
      for (const secret of secrets) expect(stored).to.not.include(secret);
      expect(stored).to.not.match(/[0-9a-f]{64}/); // no secret hash either
    });

    it('records the caller as actor, including a user revoking its own key', async () => {
      const token = await svc.userWithToken('self@example.com');
      expectResult(await svc.call('auth.keys.revoke', { user: 'self@example.com' }, token));
      const [entry] = expectResult(await svc.call('auth.audit.list', { user: 'self@example.com', action: 'keys.revoke' }));
      expect(entry).to.include({ actor: 'self@example.com', target: 'self@example.com', action: 'keys.revoke' });
    });

    it('filters by action and pages', async () => {
      const all = expectResult(await svc.call('auth.audit.list', { limit: 1000 }));
      expect(all.length).to.be.greaterThan(3);
      expect(expectResult(await svc.call('auth.audit.list', { start: 1, limit: 2 }))).to.deep.equal(all.slice(1, 3));
      const creates = expectResult(await svc.call('auth.audit.list', { action: 'user.create', limit: 1000 }));
      expect(creates.length).to.be.greaterThan(0);
      expect(creates.every((e: any) => e.action === 'user.create')).to.equal(true);
    });
  });

  describe('permission', () => {
    it('is for System Managers only (-32003)', async () => {
      const token = await svc.userWithToken('reader@example.com', ['Token Verifier']);
      expectError(await svc.call('auth.audit.list', {}, token), -32003);
    });
  });

  describe('bad params', () => {
    it('refuses bad params (-32602)', async () => {
      expectError(await svc.call('auth.audit.list', { action: 'keys.steal' }), -32602);
      expectError(await svc.call('auth.audit.list', { user: { $ne: null } }), -32602);
      expectError(await svc.call('auth.audit.list', { limit: 100_000 }), -32602);
    });
  });

  describe('storage', () => {
    it('does not record refused or failed calls', async () => {
      const before = expectResult(await svc.call('auth.audit.list', { limit: 1000 })).length;
      expectError(await svc.call('user.create', { name: 'Administrator' }), -32009);
      expectError(await svc.call('user.delete', { name: 'ghost@example.com' }), -32004);
      expectError(await svc.call(GENERATE, { user: 'ghost@example.com' }), -32004);
      expect(expectResult(await svc.call('auth.audit.list', { limit: 1000 })).length).to.equal(before);
    });

    it('reads the log as stored, and is not itself recorded', async () => {
      const [newest] = expectResult(await svc.call('auth.audit.list', { limit: 1 }));
      const before = await svc.stored();
      expect(expectResult(await svc.call('auth.audit.list', { limit: 1 }))).to.deep.equal([newest]);
      expect(await svc.stored()).to.equal(before);
      const stored = await svc.collection('audit_log').find().sort({ at: -1, _id: -1 }).limit(1).toArray();
      expect(stored[0]).to.include({ actor: newest.actor, action: newest.action, target: newest.target, request_id: newest.request_id });
    });
  });
});
