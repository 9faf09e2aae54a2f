/**
 * A key's life across methods: scopes binding a token, who may read which
 * key, races between rotation and update, other instances, last use.
 * Against the real service and database, with the token cache on (its
 * default), so every change must reach it at once. What one method does
 * (generate_keys' expiry and grace period, auth.keys.update, revoke, ...)
 * is in test/methods/<method>.test.ts.
 */
import { expect } from 'chai';
import { useService, startInstance, bearer, tokenOf, sleep, expectError, expectResult, ISSUED_SECRETS } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('key lifecycle', () => {
  const svc = useService({ maxGraceSeconds: 3600 });
  let n = 0;

  /** A fresh user each test, so no test leans on another's key. */
  async function freshUser(roles: string[] = []): Promise<string> {
    const name = `life${++n}@example.com`;
    await svc.asAdmin('user.create', { name, roles });
    return name;
  }
  const whoami = (token: string) => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));
  const works = async (token: string) => expect(expectResult(await whoami(token))).to.be.a('string');
  const keyDoc = (apiKey: string) => svc.app.services.storage.db.collection('api_keys').findOne({ api_key: apiKey });
  const lastUsed = async (apiKey: string) =>
    ((await svc.app.services.storage.db.collection('key_usage').findOne({ _id: apiKey as any }))?.last_used_at as Date | undefined) ?? null;

  describe('scopes', () => {
    it('limits a token to matching methods (-32003 otherwise), never beyond its roles', async () => {
      const manager = await freshUser(['System Manager']);
      const keys = expectResult(await svc.call(GENERATE, { user: manager, scopes: ['user.*', 'auth.verify'] }));
      expect(keys.scopes).to.deep.equal(['user.*', 'auth.verify']);
      const token = tokenOf(keys);
      expectResult(await svc.call('user.get', { name: manager }, token));
      expectResult(await svc.call('auth.verify', undefined, token));
      const err = expectError(await svc.call('auth.keys.list', {}, token), -32003);
      expect(err.message).to.include('scopes');
      expectError(await svc.call(GENERATE, { user: manager }, token), -32003);

      const plain = await freshUser();
      const plainToken = tokenOf(expectResult(await svc.call(GENERATE, { user: plain, scopes: ['*'] })));
      expectError(await svc.call('user.list', {}, plainToken), -32003); // the scope allows it; the roles do not
    });

    it('reports scopes through auth.verify, and auth.keys.update changes them at once', async () => {
      const user = await freshUser(['System Manager']);
      const keys = expectResult(await svc.call(GENERATE, { user, scopes: ['auth.verify'] }));
      const token = tokenOf(keys);
      expect(expectResult(await svc.call('auth.verify', {}, token)).scopes).to.deep.equal(['auth.verify']);
      expectError(await svc.call('user.list', {}, token), -32003);
      expectResult(await svc.call('auth.keys.update', { user, scopes: [] }));
      expectResult(await svc.call('user.list', {}, token));
      // Rotation keeps the scopes unless given.
      const rotated = expectResult(await svc.call(GENERATE, { user, scopes: ['user.get'] }));
      expect(expectResult(await svc.call(GENERATE, { user })).scopes).to.deep.equal(['user.get']);
      expect(rotated.scopes).to.deep.equal(['user.get']);
    });
  });

  describe('auth.keys.get and auth.keys.list', () => {
    it('show metadata and never a secret or hash', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user, scopes: ['auth.verify'] }));
      const info = expectResult(await svc.call('auth.keys.get', { user }));
      expect(info).to.include({ user, api_key: keys.api_key, last_used_at: null, expires_at: null, previous_valid_until: null });
      expect(info.scopes).to.deep.equal(['auth.verify']);
      const listed = expectResult(await svc.call('auth.keys.list', { user }));
      expect(listed).to.deep.equal([info]);
      const doc = await keyDoc(keys.api_key);
      for (const text of [JSON.stringify(info), JSON.stringify(listed)]) {
        expect(text).to.not.include(keys.api_secret).and.not.include(doc!.secret_hash);
      }
    });

    it("let a user read its own key, but not another's, and not list (-32003)", async () => {
      const me = await freshUser();
      const other = await freshUser();
      const token = tokenOf(expectResult(await svc.call(GENERATE, { user: me })));
      expectResult(await svc.call(GENERATE, { user: other }));
      expect(expectResult(await svc.call('auth.keys.get', { user: me }, token)).user).to.equal(me);
      expectError(await svc.call('auth.keys.get', { user: other }, token), -32003);
      expectError(await svc.call('auth.keys.get', { user: 'ghost@example.com' }, token), -32003); // tells nothing of who exists
      expectError(await svc.call('auth.keys.list', {}, token), -32003);
      expectError(await svc.call('auth.keys.update', { user: me, scopes: [] }, token), -32003);
    });

    it('refuse bad params (-32602)', async () => {
      expectError(await svc.call('auth.keys.get', {}), -32602);
      expectError(await svc.call('auth.keys.get', { user: 'x', secret: true }), -32602);
      expectError(await svc.call('auth.keys.list', { limit: 0 }), -32602);
      expectError(await svc.call('auth.keys.update', { user: 'x' }), -32602); // nothing to change
      expectError(await svc.call('auth.keys.update', { user: 'x', expires_at: { $gt: 1 } }), -32602);
    });
  });

  describe('races and other instances', () => {
    it('a rotation racing auth.keys.update keeps the update', async () => {
      const user = await freshUser();
      expectResult(await svc.call(GENERATE, { user }));
      // After the rotation has begun and before its write, an update lands:
      // the write must carry the key's scopes as they are then, not as they were.
      const keys = (svc.app.services.storage.keys as any).keys;
      const write = keys.findOneAndUpdate.bind(keys);
      let raced = false;
      keys.findOneAndUpdate = async (...args: unknown[]) => {
        if (!raced && Array.isArray(args[1])) {
          raced = true; // the rotation's pipeline; the update's own write passes straight through
          expectResult(await svc.call('auth.keys.update', { user, scopes: ['auth.verify'] }));
        }
        return write(...args);
      };
      try {
        const rotated = expectResult(await svc.call(GENERATE, { user }));
        expect(raced).to.equal(true);
        expect(rotated.scopes).to.deep.equal(['auth.verify']);
      } finally {
        keys.findOneAndUpdate = write;
      }
      expect(expectResult(await svc.call('auth.keys.get', { user })).scopes).to.deep.equal(['auth.verify']);
    });

    it('a secret rotated on another instance works here within a second, though the old record is cached', async () => {
      // A second instance on the same database (startInstance, not startService: that would rotate Administrator's key).
      const other = await startInstance(svc.app.services.storage.db.databaseName);
      try {
        const user = await freshUser();
        const first = expectResult(await svc.call(GENERATE, { user }));
        await works(tokenOf(first)); // cached on this instance
        const reply = await fetch(`${other.url}/rpc`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...bearer(svc.adminToken) },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: GENERATE, params: { user, grace_seconds: 60 } }),
        });
        const second = ((await reply.json()) as { result: { api_key: string; api_secret: string } }).result;
        ISSUED_SECRETS.add(second.api_secret);
        await sleep(1000);
        await works(tokenOf(second));
        await works(tokenOf(first)); // in its grace period
      } finally {
        await other.close();
      }
    });
  });

  describe('last_used_at', () => {
    it('is written on use, at most once a minute, apart from the key document', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      await works(tokenOf(keys));
      let first = await lastUsed(keys.api_key);
      for (let i = 0; i < 50 && !first; i++) {
        await sleep(20);
        first = await lastUsed(keys.api_key);
      }
      expect(Date.now() - first!.getTime()).to.be.below(5000);
      for (let i = 0; i < 5; i++) await works(tokenOf(keys));
      await sleep(100);
      expect(await lastUsed(keys.api_key)).to.deep.equal(first);
      // Not in the key's own document: a use is written often, and apart it
      // never contends with a rotation for the key.
      expect((await keyDoc(keys.api_key))!).to.not.have.property('last_used_at');
      expect(expectResult(await svc.call('auth.keys.get', { user })).last_used_at).to.equal(first!.toISOString());
      expect(expectResult(await svc.call('auth.keys.list', { user }))[0].last_used_at).to.equal(first!.toISOString());
    });

    it('never moves back, whichever instance writes last', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      const later = new Date(Date.now() + 60_000);
      await svc.app.services.storage.keys.touch(keys.api_key, later);
      await svc.app.services.storage.keys.touch(keys.api_key, new Date());
      expect(await lastUsed(keys.api_key)).to.deep.equal(later);
    });
  });
});
