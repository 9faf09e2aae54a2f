/**
 * A key's whole life: expiry, scopes, rotation with a grace period, metadata,
 * last use, revocation. Against the real service and database, with the
 * token cache on (its default), so every change must reach it at once.
 */
import { expect } from 'chai';
import { startService, startInstance, bearer, tokenOf, sleep, expectError, expectResult, ISSUED_SECRETS, type TestService } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

describe('key lifecycle', () => {
  let svc: TestService;
  let n = 0;
  before(async () => {
    svc = await startService({ maxGraceSeconds: 3600 });
  });
  after(async () => svc.close());

  /** A fresh user each test, so no test leans on another's key. */
  async function freshUser(roles: string[] = []): Promise<string> {
    const name = `life${++n}@example.com`;
    await svc.asAdmin('user.create', { name, roles });
    return name;
  }
  const whoami = (token: string) => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));
  const works = async (token: string) => expect(expectResult(await whoami(token))).to.be.a('string');
  const fails = async (token: string) => expectError(await whoami(token), -32001, 401);
  const keyDoc = (apiKey: string) => svc.app.services.storage.db.collection('api_keys').findOne({ api_key: apiKey });
  const lastUsed = async (apiKey: string) =>
    ((await svc.app.services.storage.db.collection('key_usage').findOne({ _id: apiKey as any }))?.last_used_at as Date | undefined) ?? null;

  describe('grace rotation', () => {
    it('keeps the previous secret working for grace_seconds, and only the previous one', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      const second = expectResult(await svc.call(GENERATE, { user, grace_seconds: 600 }));
      expect(second.api_key).to.equal(first.api_key);
      expect(Date.parse(second.previous_valid_until) - Date.now()).to.be.within(590_000, 600_000);
      await works(tokenOf(first));
      await works(tokenOf(second));
      // A further rotation without grace ends both older secrets at once.
      const third = expectResult(await svc.call(GENERATE, { user }));
      expect(third.previous_valid_until).to.equal(null);
      await fails(tokenOf(first));
      await fails(tokenOf(second));
      await works(tokenOf(third));
    });

    it('stops the previous secret when the grace period ends, even while it is cached', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      expectResult(await svc.call(GENERATE, { user, grace_seconds: 1 }));
      await works(tokenOf(first)); // now cached
      await sleep(1100);
      await fails(tokenOf(first));
    });

    it('stores the previous secret only as a hash, and forgets it after a rotation without grace', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      const second = expectResult(await svc.call(GENERATE, { user, grace_seconds: 60 }));
      let doc = await keyDoc(first.api_key);
      expect(doc!.previous_secret_hash).to.match(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(doc)).to.not.include(first.api_secret).and.not.include(second.api_secret);
      expectResult(await svc.call(GENERATE, { user }));
      doc = await keyDoc(first.api_key);
      expect(doc!.previous_secret_hash).to.equal(null);
    });

    it('refuses grace_seconds above MAX_GRACE_SECONDS or below 0 (-32602), and changes nothing', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      const err = expectError(await svc.call(GENERATE, { user, grace_seconds: 3601 }), -32602);
      expect(err.data).to.deep.equal([{ path: '/grace_seconds', message: 'must be at most 3600 (MAX_GRACE_SECONDS)' }]);
      expectError(await svc.call(GENERATE, { user, grace_seconds: -1 }), -32602);
      expectError(await svc.call(GENERATE, { user, grace_seconds: 1.5 }), -32602);
      await works(tokenOf(first));
    });
  });

  describe('expiry', () => {
    it('stops the token at expires_at; only the right secret learns that it expired', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user, expires_at: new Date(Date.now() + 1500).toISOString() }));
      await works(tokenOf(keys));
      await sleep(1600);
      const expired = await fails(tokenOf(keys));
      const wrong = await fails(`${keys.api_key}:${(await svc.call(GENERATE, { user: await freshUser() })).body.result.api_secret}`);
      expect(expired.message).to.include('expired');
      expect(wrong.message).to.not.include('expired');
    });

    it('refuses an expires_at in the past or malformed (-32602)', async () => {
      const user = await freshUser();
      const past = expectError(await svc.call(GENERATE, { user, expires_at: '2020-01-01T00:00:00Z' }), -32602);
      expect(past.data).to.deep.equal([{ path: '/expires_at', message: 'must be a time in the future' }]);
      expectError(await svc.call(GENERATE, { user, expires_at: 'tomorrow' }), -32602);
      // A leap second passes the date-time format, but Date cannot read it.
      const leap = expectError(await svc.call(GENERATE, { user, expires_at: '2030-06-30T23:59:60Z' }), -32602);
      expect(leap.data[0].path).to.equal('/expires_at');
      expectError(await svc.call('auth.keys.get', { user }), -32004); // nothing was created
    });

    it('keeps the expiry on rotation, refuses to rotate an expired key silently, and takes a new expiry', async () => {
      const user = await freshUser();
      const soon = new Date(Date.now() + 1000).toISOString();
      const first = expectResult(await svc.call(GENERATE, { user, expires_at: soon }));
      const rotated = expectResult(await svc.call(GENERATE, { user }));
      expect(rotated.expires_at).to.equal(first.expires_at);
      await sleep(1100);
      const err = expectError(await svc.call(GENERATE, { user }), -32602);
      expect(err.data[0].path).to.equal('/expires_at');
      const renewed = expectResult(await svc.call(GENERATE, { user, expires_at: null }));
      expect(renewed.expires_at).to.equal(null);
      await works(tokenOf(renewed));
    });

    it('auth.keys.update moves the expiry; the change reaches the cache at once', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user }));
      await works(tokenOf(keys));
      const later = new Date(Date.now() + 1000).toISOString();
      const info = expectResult(await svc.call('auth.keys.update', { user, expires_at: later }));
      expect(info.expires_at).to.equal(later);
      await works(tokenOf(keys));
      await sleep(1100);
      await fails(tokenOf(keys));
      expectResult(await svc.call('auth.keys.update', { user, expires_at: null }));
      await works(tokenOf(keys));
    });
  });

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

    it('refuses malformed scopes (-32602)', async () => {
      const user = await freshUser();
      for (const scopes of [['user.'], ['*.user'], ['user.*.get'], [''], 'user.*', ['a b']]) {
        expectError(await svc.call(GENERATE, { user, scopes }), -32602);
      }
      expectError(await svc.call('auth.keys.get', { user }), -32004);
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

    it('lists keys by user name, a page at a time', async () => {
      const all = expectResult(await svc.call('auth.keys.list', { limit: 1000 }));
      const names = all.map((k: { user: string }) => k.user);
      expect(names).to.deep.equal([...names].sort());
      const page = expectResult(await svc.call('auth.keys.list', { start: 1, limit: 2 }));
      expect(page).to.deep.equal(all.slice(1, 3));
      expect(expectResult(await svc.call('auth.keys.list', { user: 'nobody-here' }))).to.deep.equal([]);
    });

    it('answers -32004 for a user without a key, or no such user', async () => {
      const user = await freshUser();
      expect(expectError(await svc.call('auth.keys.get', { user }), -32004).message).to.equal(`User ${user} has no API key`);
      expectError(await svc.call('auth.keys.get', { user: 'ghost@example.com' }), -32004);
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

  describe('auth.keys.revoke', () => {
    it('ends the key pair at once, even cached; the next generate_keys makes a new api_key', async () => {
      const user = await freshUser();
      const keys = expectResult(await svc.call(GENERATE, { user, grace_seconds: 0 }));
      await works(tokenOf(keys));
      const result = expectResult(await svc.call('auth.keys.revoke', { user }));
      expect(result).to.deep.equal({ user, api_key: keys.api_key, revoked: true });
      await fails(tokenOf(keys));
      expect(await keyDoc(keys.api_key)).to.equal(null);
      expectError(await svc.call('auth.keys.revoke', { user }), -32004);
      const fresh = expectResult(await svc.call(GENERATE, { user }));
      expect(fresh.api_key).to.not.equal(keys.api_key);
      await works(tokenOf(fresh));
      await fails(tokenOf(keys));
    });

    it('also ends a secret still in its grace period', async () => {
      const user = await freshUser();
      const first = expectResult(await svc.call(GENERATE, { user }));
      expectResult(await svc.call(GENERATE, { user, grace_seconds: 600 }));
      await works(tokenOf(first));
      expectResult(await svc.call('auth.keys.revoke', { user }));
      await fails(tokenOf(first));
    });

    it("lets a user revoke its own key, but not another's (-32003, nothing changes)", async () => {
      const me = await freshUser();
      const other = await freshUser();
      const mine = tokenOf(expectResult(await svc.call(GENERATE, { user: me })));
      const theirs = tokenOf(expectResult(await svc.call(GENERATE, { user: other })));
      expectError(await svc.call('auth.keys.revoke', { user: other }, mine), -32003);
      await works(theirs);
      expectResult(await svc.call('auth.keys.revoke', { user: me }, mine));
      await fails(mine);
    });

    it('refuses bad params (-32602)', async () => {
      expectError(await svc.call('auth.keys.revoke', {}), -32602);
      expectError(await svc.call('auth.keys.revoke', { user: { $ne: '' } }), -32602);
    });
  });
});
