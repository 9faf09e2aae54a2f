/**
 * A secret pasted into the wrong place of a request is never repeated back
 * (found by an outside attacker, black box): not in the answer's body, not
 * in its headers, not in the service's log lines. A secret anywhere in the
 * URL, path included, is refused as one in the query string is (417 on
 * Frappe's door, 400 elsewhere), before anything reads it. Everything goes
 * through real HTTP to the real service, with the path sent byte for byte.
 */
import http from 'node:http';
import { expect } from 'chai';
import { useService, expectFrappeError } from './harness.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

describe('a secret in a request is never echoed, and one in the URL path is refused (found by an outside attacker)', () => {
  const svc = useService();
  let secret: string;
  /** The secret's 30 characters after tas_: what must not come back in any form. */
  let body: string;

  before(async () => {
    // A real secret, issued by the service: the whole-run log audit looks for it too.
    const key = await svc.asAdmin(GENERATE, { user: await svc.newUser() });
    secret = key.api_secret as string;
    body = secret.slice(4);
  });

  /** One request with the path exactly as given (fetch would normalise it), as Administrator. */
  function send(verb: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<Raw> {
    const { hostname, port } = new URL(svc.url);
    const headers = { authorization: `token ${svc.adminToken}`, ...opts.headers };
    return new Promise((resolve, reject) => {
      const req = http.request({ host: hostname, port, path, method: verb, agent: false, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, body: parsed });
        });
      });
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  /** Sends, and asserts that neither the answer (body, headers) nor a log line written meanwhile holds the secret. */
  async function sendClean(verb: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<Raw> {
    const before = svc.logs.length;
    const reply = await send(verb, path, opts);
    const what = `${verb} ${path}`;
    // In any case: a content type comes back lowercased, and is still the secret.
    const secretBody = body.toLowerCase();
    expect(reply.text.toLowerCase(), `${what}: body`).not.to.include(secretBody);
    expect(JSON.stringify(reply.headers).toLowerCase(), `${what}: headers`).not.to.include(secretBody);
    // Log lines are written as the answer goes out; what a request logs is there by now.
    expect(svc.logs.slice(before).join('\n').toLowerCase(), `${what}: log`).not.to.include(secretBody);
    return reply;
  }

  const frappe = (r: Raw) => ({ ...r, headers: new Headers() });

  it('refuses a secret in the REST door path with 417, as one in the query string, whatever route it is on', async () => {
    const encoded = Buffer.from(secret).toString('hex').replace(/../g, '%$&'); // every character escaped
    for (const path of [
      `/api/method/${secret}`, // was 404 "Method not found: tas_..."
      `/api/method/${secret}/`,
      `/api/v1/method/${secret}`,
      `/api/method/t%61s_${body}`, // percent-encoded, as the query string is read
      `/api/method/${encoded}`,
      `/api/method/%2574as_${body}`, // encoded twice
      `/api/method/%ZZ/t%61s_${body}`, // a bad escape elsewhere does not hide it
      `/api/resource/${secret}`, // was 404 "DocType tas_... not found"
      `/api/resource/${secret}/x`,
      `/api/resource/User/${secret}`,
      `/api/resource/User/${encodeURIComponent(`kim ${secret}`)}`,
      `/api/${secret}`, // a path no route serves is refused as such too, not answered 404
      `/api/method/frappe.auth.get_logged_user/${secret}`,
    ]) {
      for (const verb of ['GET', 'POST', 'DELETE']) {
        const reply = await sendClean(verb, path);
        expect(reply.status, `${verb} ${path}: ${reply.text}`).to.equal(417);
        const [message] = expectFrappeError(frappe(reply), 417, 'ValidationError');
        expect(message, path).to.match(/^Do not send a secret in the URL/);
      }
    }
  });

  it('refuses it with 400 on every other path, including the page and the probes served outside the pipeline', async () => {
    for (const path of [`/rpc/${secret}`, `/${secret}`, `/app/${secret}`, `/app/t%61s_${body}`, `/healthz/${secret}`, `/metrics/${secret}`]) {
      const reply = await sendClean('GET', path);
      expect(reply.status, `${path}: ${reply.text}`).to.equal(400);
      expect(reply.body, path).to.deep.equal({
        error: 'Do not send a secret in the URL, where access logs and browser history keep it: send it in a POST body (form or JSON)',
      });
    }
    for (const path of [`/healthz?x=${secret}`, `/readyz?token=k:s`, `/app?x=${secret}`]) {
      const reply = await sendClean('GET', path);
      expect(reply.status, `${path}: ${reply.text}`).to.equal(400);
      expect(reply.body.error, path).to.match(/^Do not send a (secret|token) in the URL/);
    }
    // The ordinary paths are still served.
    expect((await send('GET', '/healthz')).status).to.equal(200);
    expect((await send('GET', '/app/')).status).to.equal(200);
    expect((await send('GET', '/api/method/frappe.auth.get_logged_user')).body).to.deep.equal({ message: 'Administrator' });
  });

  it("never echoes an old client's cmd holding a secret: in a form posted to / (404 without the name) and in the query (417)", async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const cmd of [secret, `x.${secret}`, `tas_${'a1B2'.repeat(7)}xy` /* shaped like one, checksum wrong: still most of one */]) {
      const reply = await sendClean('POST', '/', { headers: form, body: `cmd=${encodeURIComponent(cmd)}` }); // was "Method not found: tas_..."
      const [message] = expectFrappeError(frappe(reply), 404, 'DoesNotExistError');
      expect(message, cmd).to.equal('Method not found');
      expect(reply.text).not.to.include(cmd.slice(-30));
    }
    const query = await sendClean('GET', `/?cmd=${secret}`);
    expectFrappeError(frappe(query), 417, 'ValidationError');
    // An ordinary unknown name is still named, to help whoever mistyped it.
    const unknown = await send('POST', '/', { headers: form, body: 'cmd=no.such.method' });
    expect(expectFrappeError(frappe(unknown), 404, 'DoesNotExistError')[0]).to.equal('Method not found: no.such.method');
  });

  it('never echoes a content type holding a secret (415 without it)', async () => {
    for (const type of [`text/${secret}`, `application/${secret}; charset=utf-8`, `text/${'x'.repeat(40)}${secret}` /* past the 60 characters shown */]) {
      const reply = await sendClean('POST', '/api/method/auth.verify', { headers: { 'content-type': type }, body: 'token=x' }); // was echoed in the 415
      const [message] = expectFrappeError(frappe(reply), 415, 'ValidationError');
      expect(message, type).to.match(/^Unsupported content type: send application\/x-www-form-urlencoded/);
    }
    // An ordinary one is still named.
    const plain = await send('POST', '/api/method/auth.verify', { headers: { 'content-type': 'text/plain' }, body: 'token=x' });
    expect(expectFrappeError(frappe(plain), 415, 'ValidationError')[0]).to.match(/^Unsupported content type "text\/plain"/);
  });

  it('never echoes a field name holding a secret in a User document, nor a secret-shaped request id', async () => {
    const json = { 'content-type': 'application/json' };
    const doc = await sendClean('POST', '/api/resource/User', { headers: json, body: JSON.stringify({ email: svc.unique(), [secret]: 1 }) }); // was "/tas_...: is not a field of User"
    const [message] = expectFrappeError(frappe(doc), 417, 'ValidationError');
    expect(message).to.match(/^\/tas_\[withheld\]: is not a field of User/);
    const data = await sendClean('POST', '/api/resource/User', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `data=%7B%7D&${secret}=1`,
    });
    expect(expectFrappeError(frappe(data), 417, 'ValidationError')[0]).to.match(/^\/tas_\[withheld\]: is not read/);
    const id = await sendClean('GET', '/api/method/frappe.auth.get_logged_user', { headers: { 'x-request-id': secret } });
    expect(id.status).to.equal(200);
    expect(id.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });
});
