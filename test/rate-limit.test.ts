import { expect } from 'chai';
import { newApiKey, newApiSecret } from '../src/auth/token.js';
import { useService, startService, requestFrom, tokenOf, type TestService } from './harness.js';

/** POST /rpc from a chosen loopback address, so tests can be several clients. */
const postFrom = (svc: TestService, from: string, body: unknown, authorization?: string) => requestFrom(svc, from, 'POST', '/rpc', { body, authorization });

const CALL = { jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' };
const LIMIT = 3;

describe('failed-authentication limits', function () {
  this.timeout(60_000);
  const svc = useService({ authFailureLimit: LIMIT, authFailureWindowMs: 60_000 });

  const lookups = async () => (await svc.app.services.metrics.authDbLookups.get()).values[0]?.value ?? 0;

  it('answers 401 up to the limit, then 429 with Retry-After and -32029', async () => {
    for (let i = 0; i < LIMIT; i++) {
      expect((await postFrom(svc, '127.0.0.2', CALL, 'token nonsense')).status).to.equal(401);
    }
    const limited = await postFrom(svc, '127.0.0.2', CALL, 'token nonsense');
    expect(limited.status).to.equal(429);
    expect(limited.body).to.deep.equal({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32029, message: 'Too many failed authentication attempts' },
    });
    const wait = Number(limited.headers['retry-after']);
    expect(wait).to.be.within(1, 60);
  });

  it('never refuses the right secret because others guessed at its api_key', async () => {
    const victim = await svc.userWithToken('victim');
    const [key] = victim.split(':');
    // An attacker who knows the api_key, guessing from several addresses.
    for (const from of ['127.0.0.3', '127.0.0.4']) {
      for (let i = 0; i < LIMIT; i++) await postFrom(svc, from, CALL, `token ${key}:${newApiSecret()}`);
    }
    const guess = await postFrom(svc, '127.0.0.5', CALL, `token ${key}:${newApiSecret()}`);
    expect(guess.status, 'the key is now over its limit').to.equal(429);
    // Its owner, from its own address, is let in at once.
    const owner = await postFrom(svc, '127.0.0.6', CALL, `token ${victim}`);
    expect(owner.status).to.equal(200);
    expect(owner.body.result).to.equal('victim');
  });

  it('bounds the lookups an address over its limit can cause, yet lets its good tokens through', async () => {
    const good = await svc.userWithToken('shared-nat');
    expect((await postFrom(svc, '127.0.0.7', CALL, `token ${good}`)).status).to.equal(200); // now cached
    const before = await lookups();
    const statuses = [];
    for (let i = 0; i < 2 * LIMIT + 3; i++) {
      statuses.push((await postFrom(svc, '127.0.0.7', CALL, `token ${newApiKey()}:${newApiSecret()}`)).status);
    }
    expect(statuses.filter((s) => s === 401)).to.have.length(LIMIT);
    expect(statuses.filter((s) => s === 429)).to.have.length(LIMIT + 3);
    expect(await lookups(), 'at most twice LIMIT lookups from one address per window').to.equal(before + 2 * LIMIT);
    expect((await postFrom(svc, '127.0.0.7', CALL, `token ${good}`)).status).to.equal(200);
    // A secret just rotated (so not verified yet) still passes: its api_key is known to exist.
    const rotated = await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: 'shared-nat' });
    const fresh = await postFrom(svc, '127.0.0.7', CALL, `token ${tokenOf(rotated)}`);
    expect(fresh.status).to.equal(200);
    expect(await lookups(), 'one lookup, for the rotated key').to.equal(before + 2 * LIMIT + 1);
    // Other addresses are not affected.
    expect((await postFrom(svc, '127.0.0.8', CALL, `token ${tokenOf(rotated)}`)).status).to.equal(200);
  });

  it('lets in, from an address over its limit, a correct key this process has never seen', async () => {
    const token = await svc.userWithToken('made-elsewhere');
    // A second instance on the same database: it has never seen that key (as after a restart, or for a key the CLI made).
    const other = await startService({ dbName: svc.app.services.storage.db.databaseName, authFailureLimit: LIMIT });
    try {
      for (let i = 0; i < LIMIT; i++) await postFrom(other, '127.0.0.10', CALL, 'token nonsense');
      expect((await postFrom(other, '127.0.0.10', CALL, 'token nonsense')).status, 'the address is over its limit').to.equal(429);
      const reply = await postFrom(other, '127.0.0.10', CALL, `token ${token}`);
      expect(reply.status).to.equal(200);
      expect(reply.body.result).to.equal('made-elsewhere');
    } finally {
      await other.app.close(); // not other.close(): the database is shared
    }
  });

  it('counts each call of a failed batch', async () => {
    const batch = Array.from({ length: LIMIT }, (_, i) => ({ ...CALL, id: i }));
    expect((await postFrom(svc, '127.0.0.9', batch, 'token nonsense')).status).to.equal(401);
    expect((await postFrom(svc, '127.0.0.9', CALL, 'token nonsense')).status).to.equal(429);
  });
});
