import { expect } from 'chai';
import { newApiKey, newApiSecret } from '../../src/auth/token.js';
import { ISSUED_SECRETS, useService, useSharedService, bearer, expectError, expectResult, eventually, tokenOf } from '../harness.js';

const METHOD = 'auth.keys.report_leak';

describe('auth.keys.report_leak', () => {
  // Shared: every user here is its own.
  const svc = useSharedService();

  const whoami = (token: string) => svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(token));
  const works = async (token: string) => expect(expectResult(await whoami(token))).to.be.a('string');
  const fails = async (token: string) => expectError(await whoami(token), -32001, 401);
  /** A user with a live token, which the test will report (so the log audit looks for it). */
  const leakable = async () => {
    const user = await svc.newUserWithToken();
    ISSUED_SECRETS.add(user.token.split(':')[1]!);
    return user;
  };

  describe('success', () => {
    it("lets any caller report another user's live secret, bare or as key:secret: the key pair is revoked at once", async () => {
      const { token: reporter } = await svc.newUserWithToken();
      const bare = await leakable();
      const pair = await leakable();
      expect(expectResult(await svc.call(METHOD, { token: bare.token.split(':')[1] }, reporter))).to.deep.equal({ received: true });
      expect(expectResult(await svc.call(METHOD, { token: pair.token, url: 'https://tickets.example.com/T-1' }, reporter))).to.deep.equal({
        received: true,
      });
      await fails(bare.token);
      await fails(pair.token);
      await works(reporter);
    });

    it('ends a secret whatever api_key it was written with, and in any spelling it was found in (found by an outside attacker: these kept working)', async () => {
      const { token: reporter } = await svc.newUserWithToken();
      const other = await svc.newUserWithToken();
      const spellings: ((key: string, secret: string) => string)[] = [
        (_, secret) => `${other.token.split(':')[0]}:${secret}`, // another user's key
        (_, secret) => `${newApiKey()}:${secret}`, // no key's
        (_, secret) => `TAS_${secret.slice(4)}`,
        (_, secret) => ` ${secret}\n`,
        (_, secret) => `Bearer ${secret}`,
        (key, secret) => `${key}%3A${secret}`,
        (_, secret) => `tas%5F${secret.slice(4)}`,
        (_, secret) => secret.slice(4),
      ];
      for (const spell of spellings) {
        const live = await leakable();
        const [key, secret] = live.token.split(':') as [string, string];
        const reported = spell(key, secret);
        expect(expectResult(await svc.call(METHOD, { token: reported }, reporter)), reported).to.deep.equal({ received: true });
        await fails(live.token);
      }
      await works(other.token);
      await works(reporter);
    });

    it('answers the same for a live secret, a dead one, a made-up one and garbage: the answer tells nothing', async () => {
      const { token: reporter } = await svc.newUserWithToken();
      const live = await leakable();
      const answers = await Promise.all(
        [live.token, `${newApiKey()}:${newApiSecret()}`, newApiSecret(), 'not a token at all'].map(async (token) => {
          const reply = await svc.call(METHOD, { token }, reporter);
          return { status: reply.status, result: expectResult(reply) };
        }),
      );
      for (const a of answers) expect(a).to.deep.equal({ status: 200, result: { received: true } });
    });
  });

  describe('permission', () => {
    it('needs a token: without one -32001, and nothing is revoked', async () => {
      const live = await leakable();
      expectError(await svc.call(METHOD, { token: live.token }, null), -32001, 401);
      await works(live.token);
    });

    it('a scoped token needs the method in its scopes (-32003), and then may report', async () => {
      const live = await leakable();
      const { token: scoped } = await svc.newUserWithToken([], { scopes: ['auth.verify'] });
      expectError(await svc.call(METHOD, { token: live.token }, scoped), -32003);
      await works(live.token);
      const { token: reporter } = await svc.newUserWithToken([], { scopes: [METHOD] });
      expectResult(await svc.call(METHOD, { token: live.token }, reporter));
      await fails(live.token);
    });
  });

  describe('bad params', () => {
    it('refuses bad params (-32602) and changes nothing', async () => {
      const live = await leakable();
      const before = await svc.stored();
      expectError(await svc.call(METHOD, {}), -32602);
      expectError(await svc.call(METHOD, { token: '' }), -32602);
      expectError(await svc.call(METHOD, { token: live.token, url: 5 }), -32602);
      expectError(await svc.call(METHOD, { token: live.token, extra: 1 }), -32602);
      expectError(await svc.call(METHOD, { token: 'x'.repeat(513) }), -32602);
      expect(await svc.stored()).to.equal(before);
      await works(live.token);
    });
  });

  describe('storage', () => {
    it("a rotation settles a report's claim on the key, so the deletion that follows the answer (of keys still claimed) never takes a key issued again", async () => {
      // The report is answered before its revoked keys are deleted (store/leaks.ts); a key issued
      // again in between must keep its new secret (found in review: the deletion took it).
      const live = await leakable();
      const claimed = { report: 'r', hash: 'h', at: new Date() };
      // As a report leaves a key it ended, before its tidy-up.
      await svc.collection('api_keys').updateOne({ user: live.name }, { $set: { leak_claims: [claimed] } });
      const again = tokenOf(await svc.asAdmin('frappe.core.doctype.user.user.generate_keys', { user: live.name }));
      ISSUED_SECRETS.add(again.split(':')[1]!);
      const key = await svc.collection('api_keys').findOne({ user: live.name });
      expect(key).to.not.have.property('leak_claims');
      await works(again);
    });

    it('removes only that key, audits key.leaked with the reporter, url and source, and never stores the token', async () => {
      const { name: reporterName, token: reporter } = await svc.newUserWithToken();
      const live = await leakable();
      const { name: neighbour } = await svc.newUserWithToken();
      const kept = await svc.collection('api_keys').findOne({ user: neighbour });
      const secret = live.token.split(':')[1]!;
      expectResult(await svc.call(METHOD, { token: secret, url: `https://paste.example.com/1?s=${secret}` }, reporter));
      expect(
        await eventually(
          () => svc.collection('api_keys').countDocuments({ user: live.name }),
          (n) => n === 0,
        ),
        'deleted after the answer',
      ).to.equal(0);
      expect(await svc.collection('api_keys').findOne({ user: neighbour })).to.deep.equal(kept);
      const entries = await svc.collection('audit_log').find({ action: 'key.leaked', target: live.name }).toArray();
      expect(entries).to.have.length(1);
      expect(entries[0]).to.include({
        actor: reporterName,
        api_key: live.token.split(':')[0],
        source: 'report_leak',
        url: 'https://paste.example.com/1?s=tas_[withheld]',
      });
      expect(JSON.stringify(await svc.collection('audit_log').find().toArray())).to.not.include(secret);
      for (const line of svc.logs) expect(line).to.not.include(secret);
    });

    it('withholds a secret in the url however it is percent-encoded (found by an outside attacker)', async () => {
      const { token: reporter } = await svc.newUserWithToken();
      const live = await leakable();
      const secret = live.token.split(':')[1]!;
      const encoded = `https://tickets.example/T-1?a=${secret.replace('_', '%5F')}&b=${encodeURIComponent(encodeURIComponent(secret)).replace(/t/g, '%74')}`;
      expectResult(await svc.call(METHOD, { token: secret, url: encoded }, reporter));
      const [entry] = await svc.collection('audit_log').find({ action: 'key.leaked', target: live.name }).toArray();
      expect(entry!.url).to.equal('https://tickets.example/T-1?a=tas_[withheld]&b=tas_[withheld]');
      for (const line of svc.logs) expect(line).to.not.include(secret.slice(4));
    });

    it("withholds a secret's body in the url under any prefix: TAS_, an entity, escape text, an overlong UTF-8, a full-width underscore (found by an outside attacker)", async () => {
      const { token: reporter } = await svc.newUserWithToken();
      const live = await leakable();
      const secret = live.token.split(':')[1]!;
      const body = secret.slice(4);
      const spellings = [`TAS_${body}`, `tas&#95;${body}`, `tas\\u005f${body}`, `tas%C1%9F${body}`, `tas\uff3f${body}`, body];
      const url = `https://tickets.example/T-2?${spellings.map((s, i) => `p${i}=${s}`).join('&')}`;
      expectResult(await svc.call(METHOD, { token: secret, url }, reporter));
      const [entry] = await svc.collection('audit_log').find({ action: 'key.leaked', target: live.name }).toArray();
      expect(entry!.url).to.not.include(body.slice(0, 24));
      expect(entry!.url.match(/\[withheld\]/g)).to.have.length(spellings.length);
      expect(entry!.url).to.match(/^https:\/\/tickets\.example\/T-2\?p0=TAS_\[withheld\]&p1=tas&#95;\[withheld\]&/);
      for (const line of svc.logs) expect(line).to.not.include(body.slice(0, 24));
    });
  });

  describe('rate limit: a report that ends no live secret is a failed guess', () => {
    const svc = useService({ authFailureLimit: 3 });

    it('past AUTH_FAILURE_LIMIT reports of dead or made-up tokens get -32029, so it is no oracle; ending a live secret is never counted', async () => {
      const { token: reporter } = await svc.newUserWithToken();
      const lives = await Promise.all([1, 2, 3, 4].map(() => svc.newUserWithToken()));
      for (const l of lives) ISSUED_SECRETS.add(l.token.split(':')[1]!);
      // Live ones do not count: four in a row, past the limit of three.
      for (const l of lives) expectResult(await svc.call(METHOD, { token: l.token }, reporter));
      // A revoked one (reported again), a made-up one, garbage: three failures, then -32029.
      expectResult(await svc.call(METHOD, { token: lives[0]!.token }, reporter));
      expectResult(await svc.call(METHOD, { token: newApiSecret() }, reporter));
      expectResult(await svc.call(METHOD, { token: 'garbage' }, reporter));
      const limited = expectError(await svc.call(METHOD, { token: newApiSecret() }, reporter), -32029);
      expect(limited.data.retry_after).to.be.a('number');
      // Over the limit, even a live one is refused before any lookup, and stays live.
      const late = await svc.newUserWithToken();
      ISSUED_SECRETS.add(late.token.split(':')[1]!);
      expectError(await svc.call(METHOD, { token: late.token }, reporter), -32029);
      expect(expectResult(await svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user' }, bearer(late.token)))).to.equal(late.name);
    });
  });
});
