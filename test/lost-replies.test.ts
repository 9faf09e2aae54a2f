import { expect } from 'chai';
import { useService, bearer, expectError, expectResult } from './harness.js';

/** Makes one driver method do its write and then fail as if the reply were lost on the network. */
function loseReplyOnce(collection: Record<string, unknown>, method: string): void {
  const original = collection[method] as (...args: unknown[]) => Promise<unknown>;
  collection[method] = async (...args: unknown[]) => {
    collection[method] = original;
    await original.apply(collection, args);
    throw Object.assign(new Error('connection reset after the write'), { name: 'MongoNetworkError' });
  };
}

/** Makes one driver method fail before writing anything. */
function failOnce(collection: Record<string, unknown>, method: string): void {
  const original = collection[method];
  // eslint-disable-next-line @typescript-eslint/require-await -- the driver's method fails with a rejection, not a throw
  collection[method] = async () => {
    collection[method] = original;
    throw Object.assign(new Error('connection reset'), { name: 'MongoNetworkError' });
  };
}

describe('writes whose reply is lost', () => {
  const svc = useService({ authCacheTtlMs: 60_000 });

  const whoami = (token: string) => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));
  const keysCollection = () => (svc.app.services.storage.keys as unknown as { keys: Record<string, unknown> }).keys;
  const usersCollection = () => (svc.app.services.storage.users as unknown as { users: Record<string, unknown> }).users;

  it('a rotation applied but unanswered (-32050) still stops the old secret at once', async () => {
    const old = await svc.userWithToken('lost-rotation');
    expectResult(await whoami(old)); // cached
    loseReplyOnce(keysCollection(), 'findOneAndUpdate');
    expectError(await svc.call('frappe.core.doctype.user.user.generate_keys', { user: 'lost-rotation' }), -32050);
    expectError(await whoami(old), -32001, 401);
  });

  it('a disable applied but unanswered (-32050) still refuses the user at once', async () => {
    const token = await svc.userWithToken('lost-disable');
    expectResult(await whoami(token));
    loseReplyOnce(usersCollection(), 'findOneAndUpdate');
    expectError(await svc.call('user.update', { name: 'lost-disable', enabled: false }), -32050);
    expectError(await whoami(token), -32001, 401);
  });

  const leaksCollection = () => (svc.app.services.storage.leaks as unknown as { keys: Record<string, unknown> }).keys;

  it('a leak report whose end is applied but unanswered (-32050) still refuses the secret at once; a retry finds it ended', async () => {
    const token = await svc.userWithToken('lost-leak');
    expectResult(await whoami(token)); // cached
    loseReplyOnce(leaksCollection(), 'updateMany');
    expectError(await svc.call('auth.keys.report_leak', { token }), -32050);
    expectError(await whoami(token), -32001, 401);
    expectResult(await svc.call('auth.keys.report_leak', { token }));
    expect(await svc.app.services.storage.db.collection('api_keys').countDocuments({ user: 'lost-leak', secret_hash: { $exists: true } })).to.equal(1);
  });

  it('a leak report whose deletion of the key fails still ends the secret, audited, and answers', async () => {
    const token = await svc.userWithToken('undeleted-leak');
    expectResult(await whoami(token));
    failOnce(leaksCollection(), 'deleteMany');
    expect(expectResult(await svc.call('auth.keys.report_leak', { token }))).to.deep.equal({ received: true });
    expectError(await whoami(token), -32001, 401);
    await svc.app.services.storage.leaks.idle(); // the deletion follows the answer
    const db = svc.app.services.storage.db;
    expect(await db.collection('api_keys').countDocuments({ user: 'undeleted-leak' }), 'left behind, with no usable secret').to.equal(1);
    expect(await db.collection('audit_log').countDocuments({ action: 'key.leaked', target: 'undeleted-leak' })).to.equal(1);
  });

  it('a leak report whose digests cannot be remembered keeps its keys (ended) rather than delete them, so a later report still knows the secret (found in review)', async () => {
    const token = await svc.userWithToken('unremembered-leak');
    expectResult(await whoami(token));
    failOnce((svc.app.services.storage.leaks as unknown as { leaked: Record<string, unknown> }).leaked, 'insertMany');
    expect(expectResult(await svc.call('auth.keys.report_leak', { token }))).to.deep.equal({ received: true });
    expectError(await whoami(token), -32001, 401);
    await svc.app.services.storage.leaks.idle();
    const db = svc.app.services.storage.db;
    expect(await db.collection('api_keys').countDocuments({ user: 'unremembered-leak' }), 'left behind, with no usable secret').to.equal(1);
    expect(await db.collection('leaked_secrets').countDocuments({ api_key: token.split(':')[0] })).to.equal(0);
  });

  it('a user deletion whose key removal fails is still done, and the key never works again', async () => {
    const token = await svc.userWithToken('half-gone');
    expectResult(await whoami(token));
    failOnce(keysCollection(), 'deleteMany');
    expect(expectResult(await svc.call('user.delete', { name: 'half-gone' }))).to.deep.equal({ name: 'half-gone', deleted: true });
    expectError(await whoami(token), -32001, 401);
    expect(await svc.app.services.storage.db.collection('api_keys').countDocuments({ user: 'half-gone' })).to.equal(0);
  });
});
