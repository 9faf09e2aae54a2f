/**
 * Two stock JSON-RPC 2.0 clients from npm, unchanged, against the real
 * service: jayson's HTTP client (jayson/promise) and json-rpc-2.0's
 * JSONRPCClient (which leaves the transport to its user: here fetch, passing
 * every JSON reply to client.receive, whatever its HTTP status, since a
 * refused call's 401 carries a JSON-RPC body). Single calls, batches (run in
 * order, each answer in place), a batch refused as a whole (a bad token:
 * HTTP 401 and an array of one -32001 per call that has an id), and errors.
 */
import { expect } from 'chai';
// Under native ESM the bare directory import fails; name the file (see README).
import jayson from 'jayson/promise/index.js';
import { JSONRPCClient, JSONRPCErrorException, createJSONRPCRequest, type JSONRPCResponse } from 'json-rpc-2.0';
import { newApiSecret } from '../src/auth/token.js';
import { useService } from './harness.js';

const FAILED = { code: -32001, message: 'Authentication failed' };
/** jayson makes a notification of a request whose id is null; its typings allow only a string or number there. */
const NOTIFICATION = null as unknown as string;

describe('stock JSON-RPC clients (jayson, json-rpc-2.0) against the service', () => {
  const svc = useService();
  let badToken: string;
  before(() => {
    badToken = `${svc.adminToken.split(':')[0]}:${newApiSecret()}`;
  });

  describe('jayson', () => {
    const client = (token: string) => {
      const { hostname, port } = new URL(svc.url);
      return jayson.Client.http({ hostname, port: Number(port), path: '/rpc', headers: { Authorization: `token ${token}` } });
    };

    it('single calls, named and positional, frappe.client.* included', async () => {
      const rpc = client(svc.adminToken);
      expect((await rpc.request('frappe.auth.get_logged_user', [])).result).to.equal('Administrator');
      expect((await rpc.request('user.create', { name: 'jay@example.com', full_name: 'Jay Son' })).result).to.include({ name: 'jay@example.com' });
      expect((await rpc.request('frappe.client.get_value', ['User', 'first_name', 'jay@example.com'])).result).to.deep.equal({ first_name: 'Jay' });
      expect((await rpc.request('frappe.client.get_count', { doctype: 'User' })).result).to.equal(2);
    });

    it('a batch: answered in order, each in place, the calls run one after another', async () => {
      const rpc = client(svc.adminToken);
      const replies = await rpc.request([
        rpc.request('user.create', { name: 'batch@example.com' }, 1, false),
        rpc.request('user.get', ['batch@example.com'], 2, false),
        rpc.request('frappe.client.set_value', ['User', 'batch@example.com', 'full_name', 'In Order'], 3, false),
        rpc.request('user.get', ['nobody@example.com'], 4, false),
        rpc.request('frappe.client.get', { doctype: 'User', name: 'batch@example.com' }, 5, false),
        rpc.request('auth.verify', {}, NOTIFICATION, false), // no answer
      ]);
      expect(replies.map((r: { id: unknown }) => r.id)).to.deep.equal([1, 2, 3, 4, 5]);
      expect(replies[1].result, 'the get sees the create before it').to.include({ name: 'batch@example.com' });
      expect(replies[2].result).to.include({ full_name: 'In Order', first_name: 'In', last_name: 'Order' });
      expect(replies[3].error).to.deep.equal({ code: -32004, message: 'User nobody@example.com not found' });
      expect(replies[4].result, 'and the set_value before it').to.include({ full_name: 'In Order' });
    });

    it('a batch refused as a whole (bad token): HTTP 401, an array of one -32001 per call with an id', async () => {
      const rpc = client(badToken);
      let raised: (Error & { code?: number }) | undefined;
      try {
        await rpc.request([
          rpc.request('auth.verify', {}, 'a', false),
          rpc.request('user.delete', ['Administrator'], 'b', false),
          rpc.request('auth.verify', {}, NOTIFICATION, false),
        ]);
      } catch (err) {
        raised = err as Error & { code?: number };
      }
      // jayson reports any non-2xx status as an error carrying the body.
      expect(raised?.code).to.equal(401);
      expect(JSON.parse(raised!.message)).to.deep.equal([
        { jsonrpc: '2.0', id: 'a', error: FAILED },
        { jsonrpc: '2.0', id: 'b', error: FAILED },
      ]);
    });

    it('errors: unknown method, invalid params (with their paths), permission, a bad token on a single call', async () => {
      const rpc = client(svc.adminToken);
      expect((await rpc.request('frappe.client.rename_doc', ['User', 'a', 'b'])).error).to.include({ code: -32601 });
      const invalid = (await rpc.request('frappe.client.get_list', { doctype: 'User', limit_page_length: -1 })).error;
      expect(invalid).to.deep.equal({ code: -32602, message: 'Invalid params', data: [{ path: '/limit_page_length', message: 'must be >= 0' }] });
      expect((await rpc.request('frappe.client.get', ['Customer', 'x'])).error).to.deep.equal({
        code: -32004,
        message: 'DocType Customer not found: this service holds only User',
      });
      const plain = await svc.userWithToken('plain@example.com');
      expect((await client(plain).request('frappe.client.get_list', ['User'])).error).to.include({ code: -32003 });
      const refused = await client(badToken)
        .request('auth.verify', {})
        .catch((err: unknown) => err);
      expect((refused as { code?: number }).code).to.equal(401);
      expect(JSON.parse((refused as Error).message)).to.deep.include({ error: FAILED });
    });
  });

  describe('json-rpc-2.0', () => {
    /** The library's client over fetch; every JSON reply goes to receive(), as a 401 carries a JSON-RPC body too. */
    const client = (token: string) => {
      const rpc: JSONRPCClient = new JSONRPCClient(async (request) => {
        const res = await fetch(`${svc.url}/rpc`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `token ${token}` },
          body: JSON.stringify(request),
        });
        const text = await res.text();
        if (text) rpc.receive(JSON.parse(text));
        else if (res.status !== 204) throw new Error(`HTTP ${res.status} without a body`);
      });
      // A reply the client cannot match to its ids would leave a call waiting forever: fail instead.
      return rpc.timeout(5000);
    };

    it('single calls, named and positional, frappe.client.* included', async () => {
      const rpc = client(svc.adminToken);
      expect(await rpc.request('frappe.auth.get_logged_user')).to.equal('Administrator');
      const doc = await rpc.request('frappe.client.insert', { doc: { doctype: 'User', email: 'two@example.com', first_name: 'Two', roles: ['Auditor'] } });
      expect(doc).to.include({ name: 'two@example.com', email: 'two@example.com', full_name: 'Two', enabled: 1, api_key: null });
      expect(await rpc.request('frappe.client.get_list', ['User', ['name'], [['Has Role', 'role', '=', 'Auditor']]])).to.deep.equal([
        { name: 'two@example.com' },
      ]);
      expect(await rpc.request('frappe.client.get_value', { doctype: 'User', fieldname: 'enabled', filters: 'two@example.com', as_dict: false })).to.equal(1);
    });

    it('a batch: answered in order, each in place, the calls run one after another', async () => {
      const rpc = client(svc.adminToken);
      const replies = await rpc.requestAdvanced([
        createJSONRPCRequest(1, 'frappe.client.insert_many', {
          docs: [
            { doctype: 'User', name: 'b1@example.com' },
            { doctype: 'User', name: 'b2@example.com' },
          ],
        }),
        createJSONRPCRequest(2, 'frappe.client.get_count', { doctype: 'User', filters: [['name', 'in', ['b1@example.com', 'b2@example.com']]] }),
        createJSONRPCRequest(3, 'frappe.client.delete', ['User', 'b1@example.com']),
        createJSONRPCRequest(4, 'frappe.client.get_count', { doctype: 'User', filters: [['name', 'in', ['b1@example.com', 'b2@example.com']]] }),
        createJSONRPCRequest(5, 'frappe.client.delete', ['User', 'Administrator']),
      ]);
      const byId = (id: number) => replies.find((r: JSONRPCResponse) => r.id === id)!;
      expect(byId(1)).to.deep.include({ result: ['b1@example.com', 'b2@example.com'] });
      expect(byId(2), 'the count sees the inserts before it').to.deep.include({ result: 2 });
      expect(byId(3)).to.deep.include({ result: null });
      expect(byId(4), 'and the delete').to.deep.include({ result: 1 });
      expect(byId(5).error).to.deep.equal({ code: -32003, message: 'Administrator cannot be deleted' });
    });

    it('a batch refused as a whole (bad token): an array of one -32001 per call with an id', async () => {
      const replies = await client(badToken).requestAdvanced([
        createJSONRPCRequest(1, 'auth.verify'),
        createJSONRPCRequest(2, 'frappe.client.get_list', ['User']),
      ]);
      expect(replies).to.deep.equal([
        { jsonrpc: '2.0', id: 1, error: FAILED },
        { jsonrpc: '2.0', id: 2, error: FAILED },
      ]);
    });

    it('errors: thrown as JSONRPCErrorException with the code and data', async () => {
      const rpc = client(svc.adminToken);
      const caught = async (call: PromiseLike<unknown>) => {
        try {
          await call;
        } catch (err) {
          return err as JSONRPCErrorException;
        }
        throw new Error('expected an error');
      };
      const unknown = await caught(rpc.request('frappe.client.submit', { doc: {} }));
      expect(unknown).to.be.instanceOf(JSONRPCErrorException);
      expect(unknown.code).to.equal(-32601);
      const invalid = await caught(rpc.request('frappe.client.set_value', ['User', 'two@example.com', 'name', 'x']));
      expect(invalid.code).to.equal(-32602);
      expect(invalid.data).to.deep.equal([{ path: '/fieldname', message: 'Cannot edit standard fields (name)' }]);
      const conflict = await caught(rpc.request('frappe.client.insert', [{ doctype: 'User', name: 'Administrator' }]));
      expect(conflict.code).to.equal(-32009);
      const bad = await caught(client(badToken).request('auth.verify'));
      expect(bad.code).to.equal(-32001);
    });
  });
});
