import { expect } from 'chai';
import fs from 'node:fs';
import { SCOPE_PATTERN, scopeAllows, scopesAllow } from '../src/auth/scopes.js';

describe('scopes', () => {
  it('match one method, a family at any depth, or everything', () => {
    expect(scopeAllows('auth.verify', 'auth.verify')).to.equal(true);
    expect(scopeAllows('auth.verify', 'auth.verify2')).to.equal(false);
    expect(scopeAllows('user.*', 'user.get')).to.equal(true);
    expect(scopeAllows('auth.*', 'auth.keys.get')).to.equal(true);
    expect(scopeAllows('user.*', 'user')).to.equal(false);
    expect(scopeAllows('user.*', 'users.get')).to.equal(false);
    expect(scopeAllows('*', 'rpc.discover')).to.equal(true);
    expect(scopesAllow([], 'anything')).to.equal(true);
    expect(scopesAllow(['user.get', 'auth.*'], 'auth.audit.list')).to.equal(true);
    expect(scopesAllow(['user.get'], 'user.list')).to.equal(false);
  });

  it('have one grammar in the code, the schema and the web page', () => {
    const common = JSON.parse(fs.readFileSync('schemas/common.json', 'utf8'));
    expect(common.definitions.scope.pattern).to.equal(SCOPE_PATTERN.source);
    expect(fs.readFileSync('web/keyfields.js', 'utf8')).to.include(`const SCOPE_PATTERN = /${SCOPE_PATTERN.source}/;`);
    for (const ok of ['*', 'auth.verify', 'user.*', 'frappe.core.doctype.user.user.generate_keys']) expect(SCOPE_PATTERN.test(ok), ok).to.equal(true);
    for (const bad of ['', 'user.', '*.user', 'user.*.get', 'a b', '.user']) expect(SCOPE_PATTERN.test(bad), bad).to.equal(false);
  });
});
