/** src/auth/guess-limits.ts on its own: the failure limits and the lookup allowance. */
import { expect } from 'chai';
import { GuessLimits } from '../src/auth/guess-limits.js';

const OPTS = { limit: 3, windowMs: 60_000, maxTracked: 100 };

describe('auth/guess-limits', () => {
  it('counts refusals per client: past the limit the client waits, others do not', async () => {
    const limits = new GuessLimits(OPTS);
    for (let i = 0; i < 2; i++) await limits.countRefusal('10.0.0.1', null, 1);
    expect(limits.clientWait('10.0.0.1')).to.equal(0);
    expect(await limits.countRefusal('10.0.0.1', null, 1)).to.equal(0); // the third: the client reaches its limit
    expect(await limits.countRefusal('10.0.0.1', null, 1), 'a fourth counted at once (a concurrent one) is a 429').to.be.within(1, 60);
    expect(limits.clientWait('10.0.0.1')).to.be.within(1, 60);
    expect(limits.clientWait('10.0.0.2')).to.equal(0);
  });

  it('counts each call a request carries', async () => {
    const limits = new GuessLimits(OPTS);
    expect(await limits.countRefusal('10.0.0.1', null, 3)).to.equal(0);
    expect(limits.clientWait('10.0.0.1')).to.be.greaterThan(0);
  });

  it("counts refusals per api_key across clients, and tells the key's wait as it stood before this refusal", async () => {
    const limits = new GuessLimits(OPTS);
    expect(await limits.countRefusal('a', 'tak_x', 1)).to.equal(0);
    expect(await limits.countRefusal('b', 'tak_x', 1)).to.equal(0);
    expect(await limits.countRefusal('c', 'tak_x', 1)).to.equal(0); // the third: the key reaches its limit
    expect(await limits.countRefusal('d', 'tak_x', 1)).to.be.within(1, 60);
    expect(await limits.countRefusal('d', 'tak_y', 1)).to.equal(0);
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

  it('learns a block from another instance: the client waits until then, at most a window', () => {
    const limits = new GuessLimits(OPTS);
    limits.blockedElsewhere('10.0.0.1', new Date(Date.now() + 10_000));
    expect(limits.clientWait('10.0.0.1')).to.be.within(9, 10);
    limits.blockedElsewhere('10.0.0.2', new Date(Date.now() + 3_600_000));
    expect(limits.clientWait('10.0.0.2')).to.be.within(59, 60);
    limits.blockedElsewhere('10.0.0.3', new Date(Date.now() - 1));
    expect(limits.clientWait('10.0.0.3')).to.equal(0);
  });

  it('keeps lookups and refusals apart: spent lookups do not make refusals 429', () => {
    const limits = new GuessLimits(OPTS);
    for (let i = 0; i < 2 * OPTS.limit; i++) limits.reserveLookup('10.0.0.1');
    expect(limits.clientWait('10.0.0.1')).to.equal(0);
  });
});
