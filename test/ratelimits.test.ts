/**
 * Per-key rate limits (docs/limits.md) over real HTTP, on every door: each
 * call counts (each of a batch's too), over a limit is 429 with Retry-After
 * and -32029 with {name, limit, remaining, reset_at}, nothing is charged for
 * a refused request, and answers carry the RateLimit-Policy and RateLimit
 * fields of draft-ietf-httpapi-ratelimit-headers-11 for the tightest limit.
 *
 * Windows are a day long unless a test is about windows ending, so a test
 * never straddles a window's end (windows start at multiples of their
 * length since the epoch: 00:00 UTC for a day).
 */
import { expect } from 'chai';
import { useSharedService, expectError, expectResult, rest, expectFrappeError, bearer, sleep, tokenOf } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
const DAY = 86_400_000;

describe('per-key rate limits', () => {
  const svc = useSharedService();

  /** A user with a token carrying `ratelimits` (and `roles`). */
  async function limitedToken(ratelimits: unknown[], roles: string[] = [], more: Record<string, unknown> = {}) {
    const name = await svc.newUser(roles);
    const key = await svc.asAdmin(GENERATE, { user: name, ratelimits, ...more });
    return { name, token: tokenOf(key) };
  }

  it('admits `limit` calls a window on the JSON-RPC door, then answers 429, Retry-After and -32029 with the limit', async () => {
    const { token } = await limitedToken([{ name: 'burst', limit: 3, duration_ms: DAY }]);
    for (let i = 0; i < 3; i++) expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    const reply = await svc.call('frappe.auth.get_logged_user', {}, token);
    const error = expectError(reply, -32029, 429);
    expect(error.data).to.include({ name: 'burst', limit: 3, remaining: 0 });
    const resetAt = Date.parse(error.data.reset_at);
    expect(resetAt % DAY, 'the window ends at a multiple of its length').to.equal(0);
    expect(resetAt).to.be.greaterThan(Date.now());
    expect(Number(reply.headers.get('retry-after'))).to.equal(error.data.retry_after);
    expect(error.data.retry_after).to.be.within(1, DAY / 1000);
    // Another key is not touched by this one's limit.
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, svc.adminToken));
  });

  it('counts each call of a batch, and refuses a batch that does not fit whole, charging nothing', async () => {
    const { token } = await limitedToken([{ name: 'calls', limit: 4, duration_ms: DAY }]);
    const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'frappe.auth.get_logged_user' });
    const three = await svc.post([call(1), call(2), call(3)], bearer(token));
    expect(three.status).to.equal(200);
    expect(three.body.map((r: any) => r.result)).to.have.length(3);
    // Two more do not fit in the one left: both refused, each with its id, and the one left stays.
    const two = await svc.post([call(4), call(5)], bearer(token));
    expect(two.status).to.equal(429);
    expect(two.body.map((r: any) => [r.id, r.error.code])).to.deep.equal([
      [4, -32029],
      [5, -32029],
    ]);
    expect(two.body[0].error.data).to.include({ name: 'calls', remaining: 1 });
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32029, 429);
  });

  it("counts on Frappe's /api/method and /api/resource doors, refusing with 429, Retry-After and TooManyRequestsError", async () => {
    const { token } = await limitedToken([{ name: 'rest', limit: 2, duration_ms: DAY }], ['System Manager']);
    expect((await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', { token })).status).to.equal(200);
    expect((await rest(svc, 'GET', '/api/resource/User?limit_page_length=1', { token })).status).to.equal(200);
    const method = await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', { token });
    const [message] = expectFrappeError(method, 429, 'TooManyRequestsError');
    expect(message).to.match(/Rate limit rest exceeded/);
    expect(Number(method.headers.get('retry-after'))).to.be.greaterThan(0);
    expectFrappeError(await rest(svc, 'GET', '/api/resource/User', { token }), 429, 'TooManyRequestsError');
  });

  it('counts on /metrics', async () => {
    const { token } = await limitedToken([{ name: 'scrape', limit: 1, duration_ms: DAY }], ['Metrics Reader']);
    const ok = await fetch(`${svc.url}/metrics`, { headers: bearer(token) });
    expect(ok.status).to.equal(200);
    await ok.text();
    const refused = await fetch(`${svc.url}/metrics`, { headers: bearer(token) });
    expect(refused.status).to.equal(429);
    expect(((await refused.json()) as any).error.data).to.include({ name: 'scrape', limit: 1 });
    expect(refused.headers.get('retry-after')).to.match(/^\d+$/);
  });

  it('sends RateLimit-Policy and RateLimit (draft 11 structured fields) for the tightest limit', async () => {
    const { token } = await limitedToken([
      { name: 'daily', limit: 100, duration_ms: DAY },
      { name: 'hourly', limit: 5, duration_ms: 3_600_000 },
    ]);
    const reply = await svc.call('frappe.auth.get_logged_user', {}, token);
    expectResult(reply);
    expect(reply.headers.get('ratelimit-policy')).to.equal('"hourly";q=5;w=3600');
    const field = reply.headers.get('ratelimit')!;
    const m = /^"hourly";r=(\d+);t=(\d+)$/.exec(field);
    expect(m, field).to.not.equal(null);
    expect(Number(m![1])).to.equal(4);
    expect(Number(m![2])).to.be.within(0, 3600);
    // A key without rate limits gets neither field.
    const plain = await svc.call('frappe.auth.get_logged_user', {}, svc.adminToken);
    expect(plain.headers.get('ratelimit')).to.equal(null);
    expect(plain.headers.get('ratelimit-policy')).to.equal(null);
  });

  it('admits calls again once the window ends', async () => {
    const { token } = await limitedToken([{ name: 'short', limit: 1, duration_ms: 1000 }]);
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    // The second call lands in the same window unless the first came at its very end: then both pass.
    const second = await svc.call('frappe.auth.get_logged_user', {}, token);
    if (second.status === 429) {
      const { reset_at } = second.body.error.data;
      await sleep(Math.max(0, Date.parse(reset_at) - Date.now()) + 20);
    }
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
  });

  it('auth.verify tells each limit: calls left after this one, and when the window ends', async () => {
    const { token } = await limitedToken([{ name: 'v', limit: 10, duration_ms: DAY }]);
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    const me = expectResult(await svc.call('auth.verify', {}, token));
    expect(me.ratelimits).to.have.length(1);
    expect(me.ratelimits[0]).to.include({ name: 'v', limit: 10, remaining: 8 });
    expect(Date.parse(me.ratelimits[0].reset_at) % DAY).to.equal(0);
    expect(me.credits).to.equal(null);
    // Checking it as another caller spends nothing.
    const checked = expectResult(await svc.call('auth.verify', { token }, svc.adminToken));
    expect(checked.ratelimits[0]).to.include({ name: 'v', remaining: 8 });
    expect(expectResult(await svc.call('auth.verify', {}, token)).ratelimits[0].remaining).to.equal(7);
  });

  it('takes a change of limits at the next call (auth.keys.update), and [] removes them', async () => {
    const { name, token } = await limitedToken([{ name: 'a', limit: 1, duration_ms: DAY }]);
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32029, 429);
    expectResult(await svc.call('auth.keys.update', { user: name, ratelimits: [{ name: 'b', limit: 2, duration_ms: DAY }] }));
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32029, 429);
    expectResult(await svc.call('auth.keys.update', { user: name, ratelimits: [] }));
    for (let i = 0; i < 5; i++) expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
  });

  it('never admits more than the limit to concurrent calls', async () => {
    const { token } = await limitedToken([{ name: 'c', limit: 25, duration_ms: DAY }]);
    const replies = await Promise.all(Array.from({ length: 60 }, () => svc.call('frappe.auth.get_logged_user', {}, token)));
    expect(replies.filter((r) => r.status === 200)).to.have.length(25);
    expect(replies.filter((r) => r.status === 429)).to.have.length(35);
  });

  it('never refuses a key far from its limits, however many of its calls wait at once for a share', async () => {
    // Two limits and credits, none near: every call must be admitted, in waves that outrun the first shares.
    const { token } = await limitedToken(
      [
        { name: 'minute', limit: 1_000_000, duration_ms: 60_000 },
        { name: 'day', limit: 1_000_000, duration_ms: DAY },
      ],
      [],
      { credits: { remaining: 1_000_000 } },
    );
    const statuses = new Map<number, number>();
    for (let wave = 0; wave < 6; wave++) {
      const replies = await Promise.all(Array.from({ length: 100 }, () => svc.call('frappe.auth.get_logged_user', {}, token)));
      for (const r of replies) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).to.deep.equal({ 200: 600 });
  });

  it('a limit given another window length counts afresh in the new length, never locking the key out (outside attacker)', async () => {
    const { name, token } = await limitedToken([{ name: 'm', limit: 5, duration_ms: DAY }]);
    for (let i = 0; i < 2; i++) expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    expectResult(await svc.call('auth.keys.update', { user: name, ratelimits: [{ name: 'm', limit: 5, duration_ms: 2 * DAY }] }));
    // Before: the one-day window's number (twice the two-day one's) looked like a window to come, and every call was 429.
    for (let i = 0; i < 5; i++) expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32029, 429);
    // And back to the shorter one: its count starts afresh too.
    expectResult(await svc.call('auth.keys.update', { user: name, ratelimits: [{ name: 'm', limit: 5, duration_ms: DAY }] }));
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
  });

  it('stores the window counter on the key document: what was spent, by window', async () => {
    const { name, token } = await limitedToken([{ name: 'stored', limit: 100, duration_ms: DAY }]);
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    const doc = await svc.collection('api_keys').findOne({ user: name });
    expect(doc!.rate_windows.stored.window).to.equal(Math.floor(Date.now() / DAY));
    // Leased ahead: the counter holds at least the one call, at most a first lease's worth.
    expect(doc!.rate_windows.stored.used).to.be.within(1, 100);
  });
});
