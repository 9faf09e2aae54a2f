import { expect } from 'chai';
import { newApiKey, newApiSecret } from '../src/auth/token.js';
import { useService, tokenMadeElsewhere, bearer, basic, tokenOf, expectError, expectResult } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

async function counter(c: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, labels: Record<string, string> = {}) {
  const { values } = await c.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

describe('token cache', () => {
  const svc = useService({ authCacheTtlMs: 60_000 });

  const whoami = (token: string) => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));
  const lookups = () => counter(svc.app.services.metrics.authDbLookups);

  it('verifies a warm token with no database lookup', async () => {
    const token = await svc.userWithToken('warm');
    expectResult(await whoami(token));
    const before = await lookups();
    for (let i = 0; i < 20; i++) expectResult(await whoami(token));
    expect(await lookups()).to.equal(before);
  });

  it('judges a token the cache would refuse on a fresh read: one lookup per refusal, known key or not', async () => {
    const token = await svc.userWithToken('known');
    expectResult(await whoami(token));
    const bogus = `${newApiKey()}:${newApiSecret()}`;
    let before = await lookups();
    for (let i = 0; i < 5; i++) expectError(await whoami(`${token.split(':')[0]}:${newApiSecret()}`), -32001, 401);
    expect(await lookups(), 'wrong secrets for a known key').to.equal(before + 5);
    before = await lookups();
    for (let i = 0; i < 5; i++) expectError(await whoami(bogus), -32001, 401);
    expect(await lookups(), 'an unknown key').to.equal(before + 5);
  });

  it('refuses malformed tokens and bad checksums with no lookup', async () => {
    const before = await lookups();
    const secret = newApiSecret();
    expectError(await whoami(`${newApiKey()}:${secret.slice(0, -1)}${secret.endsWith('x') ? 'y' : 'x'}`), -32001, 401);
    expectError(await whoami('nonsense'), -32001, 401);
    expect(await lookups()).to.equal(before);
  });

  it('shares one lookup among concurrent checks of a cold key', async () => {
    const t = await tokenMadeElsewhere(svc, 'cold');
    const before = await lookups();
    const replies = await Promise.all(Array.from({ length: 10 }, () => whoami(t)));
    replies.forEach(expectResult);
    expect(await lookups()).to.equal(before + 1);
  });

  it('drops a rotated secret at once', async () => {
    const old = await svc.userWithToken('rotating');
    expectResult(await whoami(old));
    const fresh = expectResult(await svc.call(GENERATE, { user: 'rotating' }));
    expectError(await whoami(old), -32001, 401);
    expectResult(await whoami(tokenOf(fresh)));
  });

  it('refuses a disabled user at once, and accepts it again at once', async () => {
    const token = await svc.userWithToken('toggled');
    expectResult(await whoami(token));
    await svc.call('user.update', { name: 'toggled', enabled: false });
    expectError(await whoami(token), -32001, 401);
    await svc.call('user.update', { name: 'toggled', enabled: true });
    expectResult(await whoami(token));
  });

  it('applies a change of roles at once', async () => {
    const token = await svc.userWithToken('promoted');
    expectError(await svc.call('user.list', {}, token), -32003);
    await svc.call('user.update', { name: 'promoted', roles: ['System Manager'] });
    expectResult(await svc.call('user.list', {}, token));
    await svc.call('user.update', { name: 'promoted', roles: [] });
    expectError(await svc.call('user.list', {}, token), -32003);
  });

  it('refuses a deleted user at once', async () => {
    const token = await svc.userWithToken('deleted');
    expectResult(await whoami(token));
    await svc.call('user.delete', { name: 'deleted' });
    expectError(await whoami(token), -32001, 401);
  });

  it('counts hits, misses and failures by reason at /metrics', async () => {
    const res = await fetch(`${svc.url}/metrics`, { headers: basic(svc.adminToken) });
    expect(res.status).to.equal(200);
    const text = await res.text();
    expect(text).to.match(/tokenauth_auth_cache_total\{result="hit"\} [1-9]/);
    expect(text).to.match(/tokenauth_auth_cache_total\{result="miss"\} [1-9]/);
    expect(text).to.match(/tokenauth_auth_failures_total\{reason="wrong_secret"\} [1-9]/);
    expect(text).to.match(/tokenauth_auth_failures_total\{reason="unknown_key"\} [1-9]/);
    expect(text).to.match(/tokenauth_calls_total\{method="frappe.auth.get_logged_user",door="jsonrpc",outcome="ok"\} [1-9]/);
    expect(text).to.include('tokenauth_http_request_duration_seconds_bucket');
    expect(text).to.include('tokenauth_process_resident_memory_bytes');
  });
});

describe('token check with the cache off (AUTH_CACHE_TTL_MS=0)', () => {
  const svc = useService({ authCacheTtlMs: 0 });

  it('reads the database on every call, and so sees changes made elsewhere at once', async () => {
    const token = await svc.userWithToken('uncached');
    const whoami = () => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));
    const before = await counter(svc.app.services.metrics.authDbLookups);
    expectResult(await whoami());
    expectResult(await whoami());
    expect(await counter(svc.app.services.metrics.authDbLookups)).to.equal(before + 2);
    // A change written straight to the database, as another instance would, bypassing this one's notice.
    await svc.app.services.storage.db.collection('users').updateOne({ name: 'uncached' }, { $set: { enabled: false } });
    expectError(await whoami(), -32001, 401);
  });
});
