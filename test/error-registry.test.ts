/**
 * The error registry is closed: every failure the service answers with is a
 * kind in src/errors.ts, with its JSON-RPC code, HTTP status and Frappe
 * exc_type, and no module decides a failure's status on its own.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { ERRORS, AppError, frappeStatusOf, invalidParam, invalidParams, statusOf, type ErrorKind } from '../src/errors.js';
import { useService } from './harness.js';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('error registry (src/errors.ts)', () => {
  it('gives every kind a JSON-RPC code, an HTTP error status, a Frappe exc_type and a message', () => {
    for (const [kind, e] of Object.entries(ERRORS)) {
      expect(Number.isInteger(e.rpc) && e.rpc < 0, kind).to.equal(true);
      expect(e.http, kind).to.be.within(400, 599);
      expect(e.excType, kind).to.match(/^[A-Z][A-Za-z]+$/);
      expect(e.message, kind).to.be.a('string').and.not.equal('');
      expect(frappeStatusOf(kind as ErrorKind), kind).to.be.within(400, 599);
    }
  });

  it('is the only place an error status is decided: no 4xx or 5xx literal in code outside it', () => {
    const found: string[] = [];
    for (const file of sources('src')) {
      if (file === path.join('src', 'errors.ts')) continue;
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, '');
          if (/^\s*(\*|\/\*)/.test(code)) return; // a comment
          if (/\b[45]\d\d\b/.test(code) && !/MAX_|_LIMIT|\d{4}/.test(code)) found.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found).to.deep.equal([]);
  });

  it('builds invalid params one way: -32602 "Invalid params" with each problem as data', () => {
    expect(invalidParam('/x', 'is wrong').toRpc()).to.deep.equal({ code: -32602, message: 'Invalid params', data: [{ path: '/x', message: 'is wrong' }] });
    expect(invalidParams([]).kind).to.equal('invalid_params');
    expect(new AppError('too_large').message).to.equal(ERRORS.too_large.message);
  });

  describe('transport failures answer with their kind on every door', () => {
    const svc = useService({ maxBodyBytes: 1000 });

    // Headers as a plain object: spread into the authorization, an array or a Headers would be lost.
    const send = (p: string, init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {}) =>
      fetch(`${svc.url}${p}`, { ...init, headers: { authorization: `token ${svc.adminToken}`, ...init.headers } });

    it('413, 405 and 404 on the JSON-RPC door, in its envelope', async () => {
      const big = await send('/rpc', { method: 'POST', body: 'x'.repeat(2000) });
      expect(big.status).to.equal(statusOf('body_too_large'));
      expect(((await big.json()) as { error: { message: string } }).error.message).to.equal('Request body too large');
      const get = await send('/rpc');
      expect(get.status).to.equal(statusOf('method_not_allowed'));
      expect(((await get.json()) as { error: { code: number } }).error.code).to.equal(ERRORS.method_not_allowed.rpc);
      expect((await send('/nope')).status).to.equal(statusOf('route_not_found'));
    });

    it("413, 415, 405 and 404 on Frappe's door, in its body", async () => {
      const cases: [ErrorKind, Response][] = [
        [
          'body_too_large',
          await send('/api/method/auth.verify', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ token: 'x'.repeat(2000) }),
          }),
        ],
        ['unsupported_media_type', await send('/api/method/auth.verify', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'token=x' })],
        ['method_not_allowed', await send('/api/method/auth.verify', { method: 'PATCH' })],
        ['route_not_found', await send('/api/nothing')],
        ['secret_in_url', await send('/api/method/auth.verify?token=k:s')],
      ];
      for (const [kind, res] of cases) {
        expect(res.status, kind).to.equal(frappeStatusOf(kind));
        expect(((await res.json()) as { exc_type: string }).exc_type, kind).to.equal(ERRORS[kind].excType);
      }
    });
  });
});
