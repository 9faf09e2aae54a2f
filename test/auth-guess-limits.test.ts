/** src/auth/guess-limits.ts on its own: the failure limits and the lookup allowance. */
import { expect } from 'chai';
import { GuessLimits } from '../src/auth/guess-limits.js';

const OPTS = { limit: 3, windowMs: 60_000, maxTracked: 100 };

describe('auth/guess-limits', () => {
  it('counts refusals per client: past the limit the client waits, others do not', () => {
    const limits = new GuessLimits(OPTS);
    for (let i = 0; i < 2; i++) limits.countRefusal('10.0.0.1', null, 1);
    expect(limits.clientWait('10.0.0.1')).to.equal(0);
    limits.countRefusal('10.0.0.1', null, 1);
    expect(limits.clientWait('10.0.0.1')).to.be.within(1, 60);
    expect(limits.clientWait('10.0.0.2')).to.equal(0);
  });

  it('counts each call a request carries', () => {
    const limits = new GuessLimits(OPTS);
    limits.countRefusal('10.0.0.1', null, 3);
    expect(limits.clientWait('10.0.0.1')).to.be.greaterThan(0);
  });

  it("counts refusals per api_key across clients, and tells the key's wait as it stood before this refusal", () => {
    const limits = new GuessLimits(OPTS);
    expect(limits.countRefusal('a', 'tak_x', 1)).to.equal(0);
    expect(limits.countRefusal('b', 'tak_x', 1)).to.equal(0);
    expect(limits.countRefusal('c', 'tak_x', 1)).to.equal(0); // the third: the key reaches its limit
    expect(limits.countRefusal('d', 'tak_x', 1)).to.be.within(1, 60);
    expect(limits.countRefusal('d', 'tak_y', 1)).to.equal(0);
    for (const client of ['a', 'b', 'c']) expect(limits.clientWait(client)).to.equal(0);
  });

  it('allows a client twice the failure limit in lookups, each reserved when it starts', () => {
    const limits = new GuessLimits(OPTS);
    for (let i = 0; i < 2 * OPTS.limit; i++) expect(limits.reserveLookup('10.0.0.1')).to.equal(0);
    expect(limits.reserveLookup('10.0.0.1')).to.be.within(1, 60);
    expect(limits.reserveLookup('10.0.0.2')).to.equal(0);
  });

  it('gives a lookup back when the token let the client in', () => {
    const limits = new GuessLimits(OPTS);
    for (let i = 0; i < 2 * OPTS.limit; i++) limits.reserveLookup('10.0.0.1');
    limits.refundLookup('10.0.0.1');
    expect(limits.reserveLookup('10.0.0.1')).to.equal(0);
    expect(limits.reserveLookup('10.0.0.1')).to.be.greaterThan(0);
  });

  it('a refund never runs ahead: nothing reserved, nothing given back', () => {
    const limits = new GuessLimits(OPTS);
    limits.refundLookup('10.0.0.1');
    limits.refundLookup('10.0.0.1');
    for (let i = 0; i < 2 * OPTS.limit; i++) expect(limits.reserveLookup('10.0.0.1')).to.equal(0);
    expect(limits.reserveLookup('10.0.0.1')).to.be.greaterThan(0);
  });

  it('keeps lookups and refusals apart: spent lookups do not make refusals 429', () => {
    const limits = new GuessLimits(OPTS);
    for (let i = 0; i < 2 * OPTS.limit; i++) limits.reserveLookup('10.0.0.1');
    expect(limits.clientWait('10.0.0.1')).to.equal(0);
  });
});
