/**
 * Addresses, CIDR ranges and the client address (src/ip.ts,
 * src/http/client-address.ts): the edge cases of issue 15 (/0, /32, /128,
 * IPv4-mapped addresses, malformed entries), containment of ranges checked
 * by a property against a reading of ranges as integers, and the walk of
 * X-Forwarded-For over real HTTP on 127.0.0.1 and ::1.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { clientGroup, parseAddress, parseRange, rangeText, Ranges, type Range } from '../src/ip.js';
import { clientAddress, unparsableLabel } from '../src/http/client-address.js';
import { hashSecret, newApiSecret } from '../src/auth/token.js';

const seed = process.env.IP_SEED ? Number(process.env.IP_SEED) : Date.now() % 2 ** 31;

function range(text: string): Range {
  const r = parseRange(text);
  if (typeof r === 'string') throw new Error(`${text} ${r}`);
  return r;
}
const canonical = (text: string) => rangeText(range(text));
const allows = (list: string[], address: string) => Ranges.of(list).has(parseAddress(address)!);

describe(`IP addresses and ranges (seed ${seed})`, () => {
  describe('addresses', () => {
    it('are canonical: lowercase, zeros compressed; an IPv4-mapped IPv6 address is its IPv4 address, in either spelling', () => {
      expect(parseAddress('2001:DB8:0:0:0:0:0:1')).to.deep.equal({ text: '2001:db8::1', family: 'ipv6' });
      expect(parseAddress('203.0.113.7')).to.deep.equal({ text: '203.0.113.7', family: 'ipv4' });
      expect(parseAddress('::ffff:203.0.113.7')).to.deep.equal({ text: '203.0.113.7', family: 'ipv4' });
      expect(parseAddress('::FFFF:cb00:7107')).to.deep.equal({ text: '203.0.113.7', family: 'ipv4' });
      expect(parseAddress('0:0:0:0:0:ffff:cb00:7107')).to.deep.equal({ text: '203.0.113.7', family: 'ipv4' });
      // Not mapped: IPv4-compatible, IPv4-translated and NAT64 addresses stay IPv6.
      expect(parseAddress('::203.0.113.7')?.family).to.equal('ipv6');
      expect(parseAddress('::ffff:0:203.0.113.7')?.family).to.equal('ipv6');
      expect(parseAddress('64:ff9b::203.0.113.7')?.family).to.equal('ipv6');
      expect(parseAddress('::')?.text).to.equal('::');
      expect(parseAddress('::1')?.text).to.equal('::1');
    });

    it('refuse what is not one: short, octal-looking, out of range, spaces, a zone, a port, empty, too long', () => {
      for (const bad of [
        '10.1',
        '010.0.0.1',
        '256.0.0.1',
        ' 10.0.0.1',
        '10.0.0.1 ',
        'fe80::1%eth0',
        '10.0.0.1:80',
        '[::1]',
        '',
        'unknown',
        '1::2::3',
        `${'1:'.repeat(40)}1`,
      ]) {
        expect(parseAddress(bad), JSON.stringify(bad)).to.equal(null);
      }
    });
  });

  describe('ranges', () => {
    it('take an address or address/prefix, and have one canonical text (a whole address alone)', () => {
      expect(canonical('10.0.0.0/8')).to.equal('10.0.0.0/8');
      expect(canonical('203.0.113.7/32')).to.equal('203.0.113.7');
      expect(canonical('203.0.113.7')).to.equal('203.0.113.7');
      expect(canonical('2001:DB8::/32')).to.equal('2001:db8::/32');
      expect(canonical('2001:db8::7/128')).to.equal('2001:db8::7');
      expect(canonical('0.0.0.0/0')).to.equal('0.0.0.0/0');
      expect(canonical('::/0')).to.equal('::/0');
      // Mapped: the IPv4 range it is, its prefix counted within the last 32 bits.
      expect(canonical('::ffff:10.0.0.0/104')).to.equal('10.0.0.0/8');
      expect(canonical('::ffff:0:0/96')).to.equal('0.0.0.0/0');
      expect(canonical('::ffff:203.0.113.7/128')).to.equal('203.0.113.7');
    });

    it('refuse a bad prefix, and bits set past the prefix, naming the range meant', () => {
      expect(parseRange('10.0.0.0/33')).to.equal('has a prefix length other than 0 to 32');
      expect(parseRange('::/129')).to.equal('has a prefix length other than 0 to 128');
      expect(parseRange('::ffff:10.0.0.0/129')).to.equal('has a prefix length other than 0 to 128');
      for (const p of ['/', '/08', '/-1', '/8/8', '/ 8', '/x']) expect(parseRange(`10.0.0.0${p}`), p).to.match(/^has a prefix length/);
      expect(parseRange('10.1.2.3/8')).to.equal('has bits set past its /8: the range is 10.0.0.0/8');
      expect(parseRange('2001:db8::1/32')).to.equal('has bits set past its /32: the range is 2001:db8::/32');
      expect(parseRange('::1/0')).to.equal('has bits set past its /0: the range is ::/0');
      // A mapped address with a prefix inside ::ffff is an IPv6 range whose ffff bits lie past it.
      expect(parseRange('::ffff:10.0.0.0/80')).to.equal('has bits set past its /80: the range is ::/80');
      expect(parseRange('nonsense')).to.match(/^is not an IP address or CIDR range/);
      expect(parseRange('10.0.0.0/8 ')).to.match(/^has a prefix length/);
    });

    it('/0, /32 and /128 match what they say', () => {
      expect(allows(['0.0.0.0/0'], '1.2.3.4')).to.equal(true);
      expect(allows(['0.0.0.0/0'], '255.255.255.255')).to.equal(true);
      expect(allows(['0.0.0.0/0'], '2001:db8::1'), 'IPv4 /0 is no IPv6 address').to.equal(false);
      expect(allows(['::/0'], '2001:db8::1')).to.equal(true);
      // IPv4 sits inside IPv6 as ::ffff:0:0/96, so ::/0 is every address.
      expect(allows(['::/0'], '1.2.3.4')).to.equal(true);
      expect(allows(['203.0.113.7'], '203.0.113.7')).to.equal(true);
      expect(allows(['203.0.113.7/32'], '203.0.113.8')).to.equal(false);
      expect(allows(['203.0.113.7/32'], '203.0.113.6')).to.equal(false);
      expect(allows(['2001:db8::7/128'], '2001:db8::7')).to.equal(true);
      expect(allows(['2001:db8::7/128'], '2001:db8::8')).to.equal(false);
      expect(allows(['2001:db8::/32'], '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')).to.equal(true);
      expect(allows(['2001:db8::/32'], '2001:db9::')).to.equal(false);
    });

    it('a mapped client address matches an IPv4 range, and a mapped range an IPv4 client', () => {
      expect(allows(['10.0.0.0/8'], '::ffff:10.9.8.7')).to.equal(true);
      expect(allows(['::ffff:10.0.0.0/104'], '10.9.8.7')).to.equal(true);
      expect(allows(['::ffff:10.0.0.0/104'], '11.0.0.1')).to.equal(false);
      expect(allows(['2001:db8::/32'], '10.0.0.1')).to.equal(false);
    });

    /** An IPv4 range as integers [first, last]; an IPv6 one as bigints. */
    const v4 = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })).map(([n, p]) => {
      const size = 2 ** (32 - p);
      const first = n - (n % size);
      const text = (x: number) => [24, 16, 8, 0].map((s) => Math.floor(x / 2 ** s) % 256).join('.');
      return { text: `${text(first)}/${p}`, first: text(first), last: text(first + size - 1) };
    });
    const v6 = fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }), fc.integer({ min: 0, max: 128 })).map(([n, p]) => {
      const size = 1n << BigInt(128 - p);
      const first = n - (n % size);
      const text = (x: bigint) => [...x.toString(16).padStart(32, '0').match(/.{4}/g)!].join(':');
      return { text: `${text(first)}/${p}`, first: text(first), last: text(first + size - 1n) };
    });
    const anyRange = fc.oneof(v4, v6);

    it('containment is sound and exact: a range is covered iff its first and last addresses are allowed', () => {
      fc.assert(
        fc.property(anyRange, anyRange, (outer, inner) => {
          const list = Ranges.of([canonical(outer.text)]);
          const ends = [inner.first, inner.last].every((a) => list.has(parseAddress(a)!));
          // CIDR ranges are nested or apart: inside iff both ends are.
          expect(list.covers(range(inner.text)), `${outer.text} ⊇ ${inner.text}`).to.equal(ends);
          expect(list.has(parseAddress(outer.first)!) && list.has(parseAddress(outer.last)!)).to.equal(true);
        }),
        { seed, numRuns: 3000 },
      );
    });

    it('containment across families: ::/0 covers all IPv4, ::/96 none, an IPv4 range no IPv6 range', () => {
      expect(Ranges.of(['::/0']).covers(range('0.0.0.0/0'))).to.equal(true);
      expect(Ranges.of(['::/80']).covers(range('10.0.0.0/8'))).to.equal(true);
      expect(Ranges.of(['::/96']).covers(range('10.0.0.0/8'))).to.equal(false);
      expect(Ranges.of(['0.0.0.0/0']).covers(range('::/0'))).to.equal(false);
      expect(Ranges.of(['0.0.0.0/0']).covers(range('::ffff:1.2.3.4'))).to.equal(true);
      expect(Ranges.of(['10.0.0.0/8', '2001:db8::/32']).covers(range('2001:db8:1::/48'))).to.equal(true);
    });
  });

  describe('failure-limit groups', () => {
    it('an IPv6 client is its /64, an IPv4 client its address, every malformed forwarded entry one group, anything else itself', () => {
      expect(clientGroup('2001:db8:1:2:3:4:5:6')).to.equal('2001:db8:1:2::/64');
      expect(clientGroup('2001:db8:1:2::ffff')).to.equal('2001:db8:1:2::/64');
      expect(clientGroup('2001:db8:1:3::1')).to.equal('2001:db8:1:3::/64');
      expect(clientGroup('::1')).to.equal('::/64');
      expect(clientGroup('203.0.113.7')).to.equal('203.0.113.7');
      // Whoever can write one malformed entry can write endless others: counted one by one, each would be a new client.
      expect(clientGroup(unparsableLabel('x'))).to.equal('unparsable');
      expect(clientGroup(unparsableLabel('y'))).to.equal('unparsable');
      expect(clientGroup('caller tas_x')).to.equal('caller tas_x');
    });
  });
});

describe('the client address (X-Forwarded-For behind TRUSTED_PROXIES), over real HTTP on 127.0.0.1 and ::1', () => {
  let server: http.Server;
  let port: number;
  let trusted: Ranges | null = null;

  before(async () => {
    server = http.createServer((req, res) => res.end(clientAddress(req, trusted)));
    // '::' takes IPv4 too: a 127.0.0.1 peer shows as ::ffff:127.0.0.1, which must read as 127.0.0.1.
    await new Promise<void>((r) => server.listen(0, '::', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

  /** The client address the server sees; `xff` lines are sent as separate header lines. */
  function seen(host: '127.0.0.1' | '::1', ...xff: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const headers = xff.length > 0 ? { 'X-Forwarded-For': xff } : {};
      const req = http.request({ host, port, path: '/', agent: false, headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('without TRUSTED_PROXIES: the socket peer, canonical; X-Forwarded-For is ignored (a forged one changes nothing)', async () => {
    trusted = null;
    expect(await seen('127.0.0.1')).to.equal('127.0.0.1');
    expect(await seen('::1')).to.equal('::1');
    expect(await seen('127.0.0.1', '203.0.113.7')).to.equal('127.0.0.1');
    expect(await seen('::1', '203.0.113.7, 10.0.0.1')).to.equal('::1');
  });

  it('a trusted peer: the rightmost untrusted entry; forged entries to its left are never read', async () => {
    trusted = Ranges.of(['127.0.0.1', '10.0.0.0/8']);
    expect(await seen('127.0.0.1', '203.0.113.7')).to.equal('203.0.113.7');
    expect(await seen('127.0.0.1', '198.51.100.1, 203.0.113.7')).to.equal('203.0.113.7');
    // Trusted hops are skipped: our own proxies' chain.
    expect(await seen('127.0.0.1', '198.51.100.1, 203.0.113.7, 10.0.0.2, 10.9.9.9')).to.equal('203.0.113.7');
    // Spaces around commas are nothing.
    expect(await seen('127.0.0.1', '  198.51.100.1 ,203.0.113.7  ')).to.equal('203.0.113.7');
    // A forged entry that names a trusted proxy only helps if every hop right of it is trusted, and then it is the leftmost anyway.
    expect(await seen('127.0.0.1', '10.0.0.5, 203.0.113.7')).to.equal('203.0.113.7');
    // Every hop trusted: the leftmost is the client.
    expect(await seen('127.0.0.1', '10.0.0.1, 10.0.0.2')).to.equal('10.0.0.1');
    // No header: the proxy itself.
    expect(await seen('127.0.0.1')).to.equal('127.0.0.1');
  });

  it('reads every X-Forwarded-For header line, in order, as one list', async () => {
    trusted = Ranges.of(['127.0.0.1', '10.0.0.0/8']);
    expect(await seen('127.0.0.1', '198.51.100.1', '203.0.113.7, 10.0.0.2')).to.equal('203.0.113.7');
    expect(await seen('127.0.0.1', '198.51.100.1, 10.0.0.3', '10.0.0.2')).to.equal('198.51.100.1');
    expect(await seen('127.0.0.1', '203.0.113.7', '10.0.0.2', '10.0.0.3')).to.equal('203.0.113.7');
  });

  it('an untrusted peer is the client whatever it forwards', async () => {
    trusted = Ranges.of(['127.0.0.1']);
    expect(await seen('::1', '10.0.0.1')).to.equal('::1');
    trusted = Ranges.of(['::1']);
    expect(await seen('127.0.0.1', '2001:db8::1')).to.equal('127.0.0.1');
    expect(await seen('::1', '2001:DB8::1')).to.equal('2001:db8::1');
  });

  it('a trusted ::ffff:127.0.0.1 range trusts the IPv4 peer; mapped entries are their IPv4 address', async () => {
    trusted = Ranges.of([canonical('::ffff:127.0.0.0/104')]);
    expect(await seen('127.0.0.1', '::ffff:203.0.113.7')).to.equal('203.0.113.7');
    expect(await seen('127.0.0.1', '::ffff:cb00:7107')).to.equal('203.0.113.7');
  });

  it('a malformed entry stops the walk and is the client, never skipped past; it is named by a hash label, never by its text', async () => {
    trusted = Ranges.of(['127.0.0.1', '10.0.0.0/8']);
    const entries = ['garbage', '10.0.0.2:8080', '', 'unknown', 'x'.repeat(500), 'a\tb'];
    const labels = new Set<string>();
    for (const entry of entries) {
      const label = await seen('127.0.0.1', `203.0.113.7, ${entry}, 10.0.0.2`);
      expect(label, JSON.stringify(entry)).to.equal(unparsableLabel(entry));
      expect(label).to.match(/^unparsable:[0-9a-f]{16}$/);
      if (entry.length > 0) expect(label).to.not.include(entry);
      labels.add(label);
    }
    expect(labels.size, 'one label per entry').to.equal(entries.length);
    expect(await seen('127.0.0.1', '203.0.113.7,')).to.equal(unparsableLabel(''));
    expect(await seen('127.0.0.1', 'garbage'), 'the same entry, the same label').to.equal(unparsableLabel('garbage'));
  });

  it('a secret as the forwarded entry is not kept, nor is its stored hash (the label is domain-separated)', async () => {
    trusted = Ranges.of(['127.0.0.1']);
    const secret = newApiSecret();
    const label = await seen('127.0.0.1', `203.0.113.7, ${secret}`);
    expect(label).to.match(/^unparsable:[0-9a-f]{16}$/);
    expect(label).to.not.include(secret).and.not.include('tas_');
    expect(label).to.not.include(hashSecret(secret).slice(0, 16));
  });
});
