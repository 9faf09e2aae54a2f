/**
 * Per-key credits (docs/limits.md) over real HTTP, on every door: each call
 * spends its method's cost, at zero the key is refused (429, -32029,
 * error.data.credits = 0) until its refill, which SETS the balance; a set
 * balance is never topped up by leases of the old one; and across two
 * instances on one database hammering one key at once, the accepted calls
 * are exactly the credits.
 */
import { expect } from 'chai';
import type { App } from '../src/app.js';
import { periodOf } from '../src/store/key-limits.js';
import { IDLE_MS } from '../src/auth/key-limiter.js';
import { useService, expectError, expectResult, rest, expectFrappeError, bearer, sleep, tokenOf, startInstance } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

/** One JSON-RPC call of a cheap method: true when admitted. */
async function admitted(url: string, token: string): Promise<boolean> {
  const res = await fetch(`${url}/rpc`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer(token) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }),
  });
  const body = (await res.json()) as any;
  if (res.status === 200 && 'result' in body) return true;
  expect(res.status, JSON.stringify(body)).to.equal(429);
  expect(body.error.code).to.equal(-32029);
  return false;
}

describe('per-key credits', () => {
  const svc = useService();

  async function creditToken(credits: unknown, roles: string[] = []) {
    const name = await svc.newUser(roles);
    return { name, token: tokenOf(await svc.asAdmin(GENERATE, { user: name, credits })) };
  }

  it('spends one a call on the JSON-RPC door; at zero: 429 and -32029 with data.credits = 0, and nothing without a refill to wait for', async () => {
    const { token } = await creditToken({ remaining: 3 });
    for (let i = 0; i < 3; i++) expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    const reply = await svc.call('frappe.auth.get_logged_user', {}, token);
    const error = expectError(reply, -32029, 429);
    expect(error.message).to.equal('Out of credits');
    expect(error.data).to.deep.equal({ credits: 0, cost: 1, refill_at: null });
    expect(reply.headers.get('retry-after')).to.equal(null);
  });

  it("spends on Frappe's /api/method and /api/resource doors and on /metrics", async () => {
    const { token } = await creditToken({ remaining: 3 }, ['System Manager']);
    expect((await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', { token })).status).to.equal(200);
    expect((await rest(svc, 'GET', '/api/resource/User?limit_page_length=1', { token })).status).to.equal(200);
    const metrics = await fetch(`${svc.url}/metrics`, { headers: bearer(token) });
    expect(metrics.status).to.equal(200);
    await metrics.text();
    const [message] = expectFrappeError(await rest(svc, 'GET', '/api/method/frappe.auth.get_logged_user', { token }), 429, 'TooManyRequestsError');
    expect(message).to.equal('Out of credits');
    expectFrappeError(await rest(svc, 'GET', '/api/resource/User', { token }), 429, 'TooManyRequestsError');
    expect((await fetch(`${svc.url}/metrics`, { headers: bearer(token) })).status).to.equal(429);
  });

  it("spends a method's declared cost (rpc.discover: 5), and refuses a call it cannot pay for whole", async () => {
    const { token } = await creditToken({ remaining: 7 });
    expectResult(await svc.call('rpc.discover', {}, token));
    const error = expectError(await svc.call('rpc.discover', {}, token), -32029, 429);
    expect(error.data).to.include({ credits: 2, cost: 5 });
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    expect(expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32029, 429).data.credits).to.equal(0);
  });

  it("charges an old client's cmd its method's cost, in the query string and in a posted form (found by an outside attacker: it paid 1)", async () => {
    const { token } = await creditToken({ remaining: 12 });
    expect((await fetch(`${svc.url}/?cmd=rpc.discover`, { headers: bearer(token) })).status).to.equal(200);
    const form = (cmd: string) =>
      fetch(`${svc.url}/`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...bearer(token) }, body: `cmd=${cmd}` });
    expect((await form('rpc.discover')).status).to.equal(200);
    // 2 left: a third discover (5) is refused whole, by either spelling, and spends nothing.
    const refused = await form('rpc.discover');
    expect(refused.status).to.equal(429);
    expect(((await refused.json()) as any).exception).to.include('Not enough credits: 2 left, this request costs 5');
    expect((await fetch(`${svc.url}/?cmd=rpc.discover`, { headers: bearer(token) })).status).to.equal(429);
    expect((await fetch(`${svc.url}/?cmd=frappe.auth.get_logged_user`, { headers: bearer(token) })).status).to.equal(200);
    expect((await form('frappe.auth.get_logged_user')).status).to.equal(200);
    expect((await form('frappe.auth.get_logged_user')).status).to.equal(429);
  });

  it("charges a batch the sum of its calls' costs, whole or not at all", async () => {
    const { token } = await creditToken({ remaining: 8 });
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'rpc.discover' },
      { jsonrpc: '2.0', id: 2, method: 'frappe.auth.get_logged_user' },
      { jsonrpc: '2.0', id: 3, method: 'frappe.auth.get_logged_user' },
      { jsonrpc: '2.0', id: 4, method: 'frappe.auth.get_logged_user' },
    ];
    // 5 + 3 = 8: it fits exactly.
    expect((await svc.post(batch, bearer(token))).body.every((r: any) => 'result' in r)).to.equal(true);
    const again = await svc.post(batch.slice(1), bearer(token));
    expect(again.status).to.equal(429);
    expect(again.body.map((r: any) => r.error.data.cost)).to.deep.equal([3, 3, 3]);
  });

  it('auth.verify tells the credits left after this call; checking another token spends none; keys.get and list show them', async () => {
    const { name, token } = await creditToken({ remaining: 10 });
    expect(expectResult(await svc.call('auth.verify', {}, token)).credits).to.equal(9);
    expect(expectResult(await svc.call('auth.verify', { token }, svc.adminToken)).credits).to.equal(9);
    expect(expectResult(await svc.call('auth.verify', {}, token)).credits).to.equal(8);
    const info = expectResult(await svc.call('auth.keys.get', { user: name }));
    expect(info.credits.refill).to.equal(null);
    // What no instance holds yet: at most what is left.
    expect(info.credits.remaining).to.be.within(0, 8);
    const listed = expectResult(await svc.call('auth.keys.list', { user: name }));
    expect(listed[0].credits).to.deep.equal(info.credits);
  });

  it('refills at each period boundary by SETTING the balance, never adding to it', async () => {
    const interval = 1500;
    const { name, token } = await creditToken({ remaining: 5, refill: { amount: 2, interval } });
    const refill = { amount: 2, interval };
    // Wait for the next boundary: unspent credits do not carry over.
    const start = periodOf(refill, Date.now());
    while (periodOf(refill, Date.now()) === start) await sleep(50);
    expect(expectResult(await svc.call('auth.keys.get', { user: name })).credits.remaining).to.equal(2);
    // Spend a period's credits within one period (a round cut by a boundary is done again).
    for (let round = 0; ; round++) {
      const period = periodOf(refill, Date.now());
      let spent = 0;
      while (await admitted(svc.url, token)) spent++;
      if (periodOf(refill, Date.now()) !== period) continue;
      expect(spent, `round ${round}`).to.be.at.most(2);
      const error = expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32029, 429);
      expect(error.data.credits).to.equal(0);
      expect(Date.parse(error.data.refill_at)).to.equal((period + 1) * interval);
      expect(error.data.retry_after).to.be.within(1, 2);
      if (spent === 2) break;
      expect(round, 'a whole period spent within one period').to.be.below(5);
    }
  });

  it('a balance set while an instance holds a lease of the old one is never topped up by that lease', async () => {
    const { name, token } = await creditToken({ remaining: 1000 });
    expect(await admitted(svc.url, token)).to.equal(true);
    const keys = svc.collection('api_keys');
    expect((await keys.findOne({ user: name }))!.credits.remaining, 'a lease was taken ahead').to.be.below(999);
    expectResult(await svc.call('auth.keys.update', { user: name, credits: { remaining: 10 } }));
    // The next call sees the new record and gives back its old share: into the old generation, which is gone.
    let accepted = 0;
    while (await admitted(svc.url, token)) accepted++;
    // And the idle sweep, had it anything left, would return it only where it came from.
    await sleep(IDLE_MS * 2);
    while (await admitted(svc.url, token)) accepted++;
    expect(accepted).to.equal(10);
    expect((await keys.findOne({ user: name }))!.credits.remaining).to.equal(0);
  });

  it('refuses a token without credits left only for its own key: other keys go on', async () => {
    const { token } = await creditToken({ remaining: 0 });
    expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32029, 429);
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, svc.adminToken));
  });

  it('removes credits with credits: null (the key is unlimited again)', async () => {
    const { name, token } = await creditToken({ remaining: 0 });
    expectError(await svc.call('frappe.auth.get_logged_user', {}, token), -32029, 429);
    expectResult(await svc.call('auth.keys.update', { user: name, credits: null }));
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, token));
    expect(expectResult(await svc.call('auth.verify', {}, token)).credits).to.equal(null);
  });

  describe('exactness across two instances on one database', () => {
    let other: App | undefined;
    before(async () => {
      other = await startInstance(svc.db.databaseName);
    });
    after(async () => {
      await other?.close();
    });

    it('admits exactly the credits when two instances are hammered at once past them', async function () {
      this.timeout(120_000);
      const CREDITS = 1500;
      const { name, token } = await creditToken({ remaining: CREDITS });
      const urls = [svc.url, other!.url];
      const counts = [0, 0];
      // 16 concurrent callers per instance, each until its instance refuses it.
      await Promise.all(
        urls.flatMap((url, i) =>
          Array.from({ length: 16 }, async () => {
            while (await admitted(url, token)) counts[i]!++;
          }),
        ),
      );
      const hammered = counts[0]! + counts[1]!;
      expect(hammered, 'never more than the credits').to.be.at.most(CREDITS);
      expect(counts[0], 'both instances admitted calls').to.be.greaterThan(0);
      expect(counts[1], 'both instances admitted calls').to.be.greaterThan(0);
      // Shares still held (a lease that landed after its instance's last refusal) go back when idle; spend them.
      let total = hammered;
      for (let round = 0; round < 20; round++) {
        let more = 0;
        for (const url of urls) while (await admitted(url, token)) more++;
        total += more;
        const left = (await svc.collection('api_keys').findOne({ user: name }))!.credits.remaining;
        if (more === 0 && left === 0 && total === CREDITS) break;
        await sleep(IDLE_MS / 2);
      }
      expect(total, 'exactly the credits, none lost while both instances live').to.equal(CREDITS);
    });
  });
});
