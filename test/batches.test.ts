/**
 * Batches a client can rely on (issue 10 §4, issue 11 §1): a budget per
 * batch, refusals answered as an array, calls run in order, ids echoed as
 * sent. Real HTTP against the real service.
 */
import { expect } from 'chai';
import { newApiKey, newApiSecret } from '../src/auth/token.js';
import { loadConfig } from '../src/config.js';
import { useService, startService, startInstance, bearer, expectError, expectResult, requestFrom, rest, sleep } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
const rpc = (id: unknown, method: string, params?: unknown) => ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
const note = (method: string, params?: unknown) => ({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) });
const FAILED = { code: -32001, message: 'Authentication failed' };
const BIG = '12345678901234567890';

describe('batches', function () {
  this.timeout(60_000);
  const svc = useService();

  const auth = () => bearer(svc.adminToken);
  const badToken = () => bearer(`${newApiKey()}:${newApiSecret()}`);

  describe('a batch refused as a whole', () => {
    it('401: one error per call with an id, in order, ids as sent, and WWW-Authenticate', async () => {
      const reply = await svc.post(
        [rpc(1, 'auth.verify'), note('auth.verify'), rpc('b', 'user.get', { name: 'x' }), 7, rpc(null, 'auth.verify'), {}, rpc(3, 'no.such')],
        badToken(),
      );
      expect(reply.status).to.equal(401);
      expect(reply.headers.get('www-authenticate')).to.equal('token');
      expect(reply.body).to.deep.equal([
        { jsonrpc: '2.0', id: 1, error: FAILED },
        { jsonrpc: '2.0', id: 'b', error: FAILED },
        { jsonrpc: '2.0', id: null, error: FAILED }, // the element that is no request
        { jsonrpc: '2.0', id: null, error: FAILED },
        { jsonrpc: '2.0', id: null, error: FAILED }, // {} is no notification: served, it would get -32600
        { jsonrpc: '2.0', id: 3, error: FAILED },
      ]);
    });

    it('401 for a batch of only notifications: the status and headers, no body', async () => {
      const reply = await svc.post([note('auth.verify'), note('auth.verify')], {});
      expect(reply.status).to.equal(401);
      expect(reply.headers.get('www-authenticate')).to.equal('token');
      expect(reply.text).to.equal('');
    });

    it('a single request, an empty batch, and a batch over MAX_BATCH still get one error object', async () => {
      expect((await svc.post(rpc(5, 'auth.verify'), {})).body).to.deep.equal({ jsonrpc: '2.0', id: 5, error: FAILED });
      expect((await svc.post([], {})).body).to.deep.equal({ jsonrpc: '2.0', id: null, error: FAILED });
      const huge = Array.from({ length: 101 }, (_, i) => rpc(i, 'auth.verify'));
      expect((await svc.post(huge, {})).body).to.deep.equal({ jsonrpc: '2.0', id: null, error: FAILED });
    });

    it('429: an array too, with Retry-After', async () => {
      const limited = await startService({ authFailureLimit: 2 });
      try {
        const batch = [rpc(1, 'auth.verify'), note('auth.verify'), rpc(2, 'auth.verify')];
        expect((await requestFrom(limited, '127.0.0.21', 'POST', '/rpc', { body: batch, authorization: 'token nonsense' })).status).to.equal(401);
        const reply = await requestFrom(limited, '127.0.0.21', 'POST', '/rpc', { body: batch, authorization: 'token nonsense' });
        expect(reply.status).to.equal(429);
        expect(Number(reply.headers['retry-after'])).to.be.at.least(1);
        const error = { code: -32029, message: 'Too many failed authentication attempts' };
        expect(reply.body).to.deep.equal([
          { jsonrpc: '2.0', id: 1, error },
          { jsonrpc: '2.0', id: 2, error },
        ]);
      } finally {
        await limited.close();
      }
    });

    it('503 (the token check cannot reach the database): an array too', async () => {
      const other = await startInstance(svc.app.services.storage.db.databaseName);
      try {
        await other.services.storage.client.close(); // the database is gone, as far as this instance can tell
        const res = await fetch(`${other.url}/rpc`, {
          method: 'POST',
          headers: badToken(),
          body: JSON.stringify([rpc(1, 'auth.verify'), rpc(2, 'user.list')]),
        });
        expect(res.status).to.equal(503);
        const error = { code: -32050, message: 'Storage unavailable' };
        expect(await res.json()).to.deep.equal([
          { jsonrpc: '2.0', id: 1, error },
          { jsonrpc: '2.0', id: 2, error },
        ]);
      } finally {
        await other.close();
      }
    });
  });

  describe('calls run one after another, in order', () => {
    it('a key can be generated for a user created earlier in the same batch', async () => {
      const reply = await svc.post([rpc(1, 'user.create', { name: 'seq-new' }), rpc(2, GENERATE, { user: 'seq-new' })], auth());
      expect(reply.body[0].result.name, reply.text).to.equal('seq-new');
      expect(reply.body[1].result.api_key, reply.text).to.match(/^tak_/);
      expect(reply.body[1].result.api_secret).to.match(/^tas_/);
    });

    it('update, get, delete, get: each call sees the one before it', async () => {
      expectResult(await svc.call('user.create', { name: 'seq-edit' }));
      const reply = await svc.post(
        [
          rpc(1, 'user.update', { name: 'seq-edit', full_name: 'Edited' }),
          rpc(2, 'user.get', { name: 'seq-edit' }),
          rpc(3, 'user.delete', { name: 'seq-edit' }),
          rpc(4, 'user.get', { name: 'seq-edit' }),
        ],
        auth(),
      );
      expect(reply.body.map((r: { id: number }) => r.id)).to.deep.equal([1, 2, 3, 4]);
      expect(reply.body[0].result.full_name).to.equal('Edited');
      expect(reply.body[1].result.full_name).to.equal('Edited');
      expect(reply.body[2]).to.have.property('result');
      expect(reply.body[3].error.code).to.equal(-32004);
    });

    it('a notification runs in its place too', async () => {
      const reply = await svc.post([note('user.create', { name: 'seq-note' }), rpc(1, 'user.get', { name: 'seq-note' })], auth());
      expect(reply.body).to.have.length(1);
      expect(reply.body[0].result.name).to.equal('seq-note');
    });

    it('answers elements that are no request with -32600 in their place', async () => {
      const reply = await svc.post([7, rpc(1, 'frappe.auth.get_logged_user'), []], auth());
      expect(reply.body.map((r: { id: unknown }) => r.id)).to.deep.equal([null, 1, null]);
      expect(reply.body[0].error.code).to.equal(-32600);
      expect(reply.body[2].error.code).to.equal(-32600);
    });
  });

  describe('ids are echoed as sent', () => {
    it('an invalid request with a valid id gets that id back', async () => {
      const single = await svc.post({ jsonrpc: '2.0', id: 1, method: 'frappe.auth.get_logged_user', params: null }, auth());
      expect(single.body).to.deep.equal({ jsonrpc: '2.0', id: 1, error: { code: -32600, message: 'Invalid Request' } });
      const batch = await svc.post(
        [
          { jsonrpc: '1.0', id: 'a', method: 'auth.verify' },
          { jsonrpc: '2.0', id: 'b' },
          { jsonrpc: '2.0', id: { no: 1 }, method: 'auth.verify' },
        ],
        auth(),
      );
      expect(batch.body.map((r: { id: unknown }) => r.id)).to.deep.equal(['a', 'b', null]);
      for (const r of batch.body) expect(r.error.code).to.equal(-32600);
    });

    it('an integer id past 2^53 keeps its digits: single, batch, invalid, refused', async () => {
      const call = `{"jsonrpc":"2.0","id":${BIG},"method":"frappe.auth.get_logged_user"}`;
      const single = await svc.post(call, auth());
      expect(single.text).to.equal(`{"jsonrpc":"2.0","id":${BIG},"result":"Administrator"}`);
      const batch = await svc.post(`[${call}, {"jsonrpc":"2.0","id":9007199254740993,"method":"auth.verify"}, {"id":-98765432109876543210}]`, auth());
      expect(batch.text).to.match(
        new RegExp(`^\\[\\{"jsonrpc":"2.0","id":${BIG},"result":"Administrator"\\},\\{"jsonrpc":"2.0","id":9007199254740993,"result":\\{`),
      );
      expect(batch.text).to.include('"id":-98765432109876543210,"error":{"code":-32600');
      const refused = await svc.post(`[${call}]`, badToken());
      expect(refused.status).to.equal(401);
      expect(refused.text).to.equal(`[{"jsonrpc":"2.0","id":${BIG},"error":{"code":-32001,"message":"Authentication failed"}}]`);
    });

    it('the digits are found wherever the id sits, and whatever else the body holds', async () => {
      // Long digits in a string, an "id" key in a nested object, an escaped key, a duplicate id (the last counts, as in JSON.parse).
      const body =
        `[{"method":"user.get","params":{"id":11111111111111111111,"name":"12345678901234567890"},"jsonrpc":"2.0","id":22222222222222222222},` +
        `{"jsonrpc":"2.0","\\u0069d":33333333333333333333,"method":"frappe.auth.get_logged_user"},` +
        `{"jsonrpc":"2.0","id":1,"method":"frappe.auth.get_logged_user","id":44444444444444444444}]`;
      const reply = await svc.post(body, auth());
      expect(reply.text).to.include('"id":22222222222222222222,"error":{"code":-32602');
      expect(reply.text).to.include('"id":33333333333333333333,"result":"Administrator"');
      expect(reply.text).to.include('"id":44444444444444444444,"result":"Administrator"');
      expect(reply.text).to.not.include('11111111111111111111');
    });

    it('string ids come back as they were, whatever they hold', async () => {
      for (const id of ['\u0000null-id', 'é "quoted" \\ back', '']) {
        expect((await svc.post(rpc(id, 'frappe.auth.get_logged_user'), auth())).body).to.deep.equal({ jsonrpc: '2.0', id, result: 'Administrator' });
        expect((await svc.post([rpc(id, 'frappe.auth.get_logged_user')], auth())).body).to.deep.equal([{ jsonrpc: '2.0', id, result: 'Administrator' }]);
      }
    });
  });

  describe('budget', () => {
    it("the issue's batch: 100 x user.list limit 1000 of 1,050 users answers one page and refuses the rest", async () => {
      const users = svc.app.services.storage.db.collection('users');
      const now = new Date();
      await users.insertMany(
        Array.from({ length: 1050 }, (_, i) => ({
          name: `bulk${String(i).padStart(4, '0')}`,
          full_name: `Bulk ${i}`,
          roles: [],
          enabled: true,
          created_at: now,
          modified_at: now,
        })),
      );
      const batch = Array.from({ length: 100 }, (_, i) => rpc(i, 'user.list', { limit: 1000, fields: ['*'] }));
      const started = Date.now();
      const reply = await svc.post(batch, { ...auth(), 'X-Request-Id': 'abusive-batch' });
      const ms = Date.now() - started;
      // One log line for the 99 calls not run, not 99.
      const lines = svc.logs.map((l) => JSON.parse(l)).filter((l) => l.req_id === 'abusive-batch' && l.outcome === 'too_large');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ msg: 'batch over budget', not_run: 99, calls: 100 });
      expect(reply.status).to.equal(200);
      expect(reply.body).to.have.length(100);
      expect(reply.body[0].result).to.have.length(1000);
      for (const r of reply.body.slice(1)) {
        expect(r.error, JSON.stringify(r)).to.deep.equal({ code: -32013, message: 'Batch budget exceeded', data: { max_batch_rows: 1000 } });
      }
      expect(reply.text.length).to.be.below(1024 * 1024);
      expect(ms, 'one page, not a hundred').to.be.below(10_000);
    });

    it("counts each call's page size (its limit, or the default of 20), by name or by position", async () => {
      const fits = await svc.post(
        [rpc(1, 'user.list', { limit: 960 }), rpc(2, 'user.list'), rpc(3, 'auth.audit.list', [0, 20]), rpc(4, 'user.get', ['Administrator'])],
        auth(),
      );
      expect(fits.body.map((r: { error?: unknown }) => r.error)).to.deep.equal([undefined, undefined, undefined, undefined]);
      const over = await svc.post(
        [
          rpc(1, 'user.list', { limit: 960 }),
          rpc(2, 'auth.keys.list', [0, 50]),
          rpc(3, 'user.get', { name: 'Administrator' }),
          note('user.create', { name: 'never-made' }),
          rpc(4, 'user.list', { limit: 5000 }),
        ],
        auth(),
      );
      expect(over.body).to.have.length(4);
      expect(over.body[0].result).to.be.an('array');
      for (const r of over.body.slice(1)) expect(r.error).to.deep.equal({ code: -32013, message: 'Batch budget exceeded', data: { max_batch_rows: 1000 } });
      expectError(await svc.call('user.get', { name: 'never-made' }), -32004); // the notification past the budget did not run
    });

    it('counts Frappe\'s limit_page_length too, its 0 ("no limit") as the largest page', async function () {
      if (!svc.app.dispatcher.has('frappe.client.get_list')) this.skip();
      const page = (n: number) => rpc(n, 'frappe.client.get_list', { doctype: 'User', limit_page_length: 0 });
      const reply = await svc.post([page(1), page(2), rpc(3, 'frappe.client.get_list', { doctype: 'User' })], auth());
      expect(reply.body[0].result, reply.text.slice(0, 300)).to.be.an('array');
      expect(reply.body[1].error).to.deep.equal({ code: -32013, message: 'Batch budget exceeded', data: { max_batch_rows: 1000 } });
      expect(reply.body[2].error?.code).to.equal(-32013);
    });

    it('a limit the schema refuses counts for nothing: that call gets -32602', async () => {
      const reply = await svc.post([rpc(1, 'user.list', { limit: 5000 }), rpc(2, 'user.list', { limit: 1000 })], auth());
      expect(reply.body[0].error.code).to.equal(-32602);
      expect(reply.body[1].result).to.be.an('array');
    });

    it('MAX_RESPONSE_BYTES: the call whose answer does not fit, and every call after it, get -32013', async () => {
      // Room for two replies of rpc.discover, not three.
      const one = Buffer.byteLength((await svc.post(rpc(1, 'rpc.discover'), auth())).text);
      const max = Math.round(2.5 * one);
      const small = await startService({ maxResponseBytes: max });
      try {
        const batch = [rpc(1, 'rpc.discover'), rpc(2, 'rpc.discover'), rpc(3, 'rpc.discover'), rpc(4, 'frappe.auth.get_logged_user')];
        const reply = await small.post(batch, bearer(small.adminToken));
        expect(reply.body).to.have.length(4);
        expect(reply.body[0].result.openrpc).to.be.a('string');
        expect(reply.body[1].result.openrpc).to.be.a('string');
        expect(reply.body[2]).to.deep.equal({
          jsonrpc: '2.0',
          id: 3,
          error: { code: -32013, message: 'Response too large', data: { max_response_bytes: max, ran: true } },
        });
        expect(reply.body[3]).to.deep.equal({
          jsonrpc: '2.0',
          id: 4,
          error: { code: -32013, message: 'Batch budget exceeded', data: { max_response_bytes: max } },
        });
        expect(Buffer.byteLength(reply.text)).to.be.below(max + 1000);
        expect(reply.headers.get('content-length')).to.equal(String(Buffer.byteLength(reply.text)));
      } finally {
        await small.close();
      }
    });

    it('MAX_RESPONSE_BYTES: a single call whose answer is larger gets -32013, not the answer', async () => {
      const small = await startService({ maxResponseBytes: 4096 });
      try {
        const reply = await small.post(rpc('d', 'rpc.discover'), bearer(small.adminToken));
        expect(reply.status).to.equal(200);
        expect(reply.body).to.deep.equal({
          jsonrpc: '2.0',
          id: 'd',
          error: { code: -32013, message: 'Response too large', data: { max_response_bytes: 4096, ran: true } },
        });
        expectResult(await small.call('frappe.auth.get_logged_user'));
      } finally {
        await small.close();
      }
    });

    it('100 x rpc.discover: served from one document, and counted against the default 4 MiB like any answer', async () => {
      const reply = await svc.post(
        Array.from({ length: 100 }, (_, i) => rpc(i, 'rpc.discover')),
        auth(),
      );
      expect(reply.body).to.have.length(100);
      const answered = reply.body.filter((r: { result?: unknown }) => r.result !== undefined);
      expect(answered.length).to.be.above(50);
      for (const r of answered) expect(JSON.stringify(r.result)).to.equal(JSON.stringify(answered[0].result));
      // Whatever did not fit (the document grows with the schemas) was refused, never sent.
      for (const r of reply.body.slice(answered.length)) expect(r.error.code).to.equal(-32013);
      const refused = reply.body.length - answered.length;
      expect(Buffer.byteLength(reply.text)).to.be.at.most(4 * 1024 * 1024 + refused * 200);
    });

    it('the limits are configuration, checked at start', () => {
      const config = loadConfig({});
      expect(config).to.include({ maxBatchRows: 1000, maxResponseBytes: 4_194_304, dbOpTimeoutMs: 5000 });
      expect(loadConfig({ MAX_BATCH_ROWS: '50', MAX_RESPONSE_BYTES: '65536', DB_OP_TIMEOUT_MS: '250' })).to.include({
        maxBatchRows: 50,
        maxResponseBytes: 65_536,
        dbOpTimeoutMs: 250,
      });
      for (const [name, value] of [
        ['MAX_BATCH_ROWS', '0'],
        ['MAX_RESPONSE_BYTES', '12'],
        ['DB_OP_TIMEOUT_MS', 'soon'],
      ]) {
        expect(() => loadConfig({ [name!]: value }), name).to.throw(name);
      }
    });
  });
});

describe('rows per caller per second (MAX_ROWS_PER_SECOND)', () => {
  const svc = useService({ maxRowsPerSecond: 100 });

  it('lets a caller read its rows a second, then answers -32029 with the wait on every door, without holding up other callers', async () => {
    const other = await svc.userWithToken('row-reader-2', ['System Manager']);
    expect(expectResult(await svc.call('user.list', { limit: 60 }))).to.be.an('array');
    const refused = expectError(await svc.call('user.list', { limit: 60 }), -32029);
    expect(refused.message).to.match(/^Too many rows read: at most 100 a second/);
    expect(refused.data).to.deep.equal({ retry_after: 1, max_rows_per_second: 100 });
    const viaRest = await rest(svc, 'GET', '/api/method/user.list?limit=60');
    expect(viaRest.status).to.equal(429);
    expect(viaRest.headers.get('retry-after')).to.equal('1');
    // Calls that read no rows, and other callers, go on.
    expectResult(await svc.call('user.get', { name: 'Administrator' }));
    expectResult(await svc.call('user.list', { limit: 60 }, other));
    await sleep(1100);
    expectResult(await svc.call('user.list', { limit: 60 }));
  });

  it('does not limit the local operator (the CLI)', async () => {
    for (let i = 0; i < 5; i++) expect(await svc.asAdmin('user.list', { limit: 100 })).to.be.an('array');
  });
});

describe('writes of many documents share the row budget', () => {
  const svc = useService({ maxBatchRows: 10 });

  it('counts each document of frappe.client.insert_many as a row: the call past the budget is not run', async () => {
    const docs = (prefix: string) => Array.from({ length: 6 }, (_, i) => ({ doctype: 'User', name: `${prefix}-${i}` }));
    const call = (id: number, prefix: string) => ({ jsonrpc: '2.0', id, method: 'frappe.client.insert_many', params: { docs: docs(prefix) } });
    const reply = await svc.post([call(1, 'im-a'), call(2, 'im-b')], bearer(svc.adminToken));
    expect(reply.body[0].result).to.have.length(6);
    expect(reply.body[1].error).to.deep.equal({ code: -32013, message: 'Batch budget exceeded', data: { max_batch_rows: 10 } });
    expect(await svc.app.services.storage.db.collection('users').countDocuments({ name: { $regex: '^im-b-' } })).to.equal(0);
  });
});
