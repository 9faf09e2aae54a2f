/**
 * IP addresses and CIDR ranges: parsing, one canonical text per address,
 * matching (per-key IP allowlists, TRUSTED_PROXIES) and containment.
 *
 * Built on Node's own net module rather than a package or a parser of our
 * own: net.isIP and net.SocketAddress parse with the platform's inet_pton
 * (strict: no octal "010.1.2.3", no short "10.1", no stray spaces) and print
 * with inet_ntop (lowercase, zeros compressed), and net.BlockList matches
 * ranges natively. What Node does not offer (the bits past a prefix, an
 * IPv6 client's /64) is a few lines over addresses already checked here.
 *
 * One rule throughout: an IPv4-mapped IPv6 address (::ffff:1.2.3.4, as a
 * dual-stack socket reports an IPv4 peer) IS that IPv4 address, in a client
 * address and in a range alike (::ffff:10.0.0.0/104 is 10.0.0.0/8). IPv4
 * lives inside IPv6 as ::ffff:0:0/96, so an IPv6 range that covers all of
 * that (::/0 to ::/80 with zeros) covers IPv4 too, as net.BlockList has it.
 */
import net from 'node:net';

export type Family = 'ipv4' | 'ipv6';

/** An address in its one canonical text: an IPv4 dotted quad, or IPv6 as inet_ntop writes it. */
export interface Address {
  text: string;
  family: Family;
}

/** A range: its first address and how many leading bits are fixed. */
export interface Range {
  address: Address;
  prefix: number;
}

/** How many bits an address of each family has. */
const BITS: Record<Family, number> = { ipv4: 32, ipv6: 128 };
/** Where IPv4 sits inside IPv6: ::ffff:0:0/96. */
const MAPPED_BITS = 96;
const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/;
/** Longer than any address with a prefix ("ffff:...:255.255.255.255/128" is 49). */
const MAX_TEXT = 64;

/** An address from text, canonical; null when it is not one. A zone (fe80::1%eth0) is not an address here: it means nothing off the host. */
export function parseAddress(raw: string): Address | null {
  if (raw.length > MAX_TEXT || raw.includes('%')) return null;
  // isIPv4 takes only the canonical dotted quad (no leading zeros), so it is its own text.
  if (net.isIPv4(raw)) return { text: raw, family: 'ipv4' };
  if (!net.isIPv6(raw)) return null;
  const text = new net.SocketAddress({ address: raw, family: 'ipv6' }).address;
  const mapped = MAPPED.exec(text);
  return mapped ? { text: mapped[1]!, family: 'ipv4' } : { text, family: 'ipv6' };
}

/**
 * A socket's remoteAddress, canonical. Node prints it with inet_ntop
 * already, so only a mapped IPv4 peer needs anything done: this runs on
 * every request, and skips the parse.
 */
export function peerAddress(remote: string | undefined): string {
  if (remote === undefined) return 'unknown';
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}

/** A range from text ("10.0.0.0/8", "2001:db8::/32", "203.0.113.7"), or why it is not one. */
export function parseRange(raw: string): Range | string {
  const slash = raw.indexOf('/');
  const address = parseAddress(slash < 0 ? raw : raw.slice(0, slash));
  if (!address) return 'is not an IP address or CIDR range (such as 10.0.0.0/8, 2001:db8::/32 or 203.0.113.7)';
  const written = net.isIPv6(slash < 0 ? raw : raw.slice(0, slash)) ? 'ipv6' : address.family;
  let prefix = BITS[written];
  if (slash >= 0) {
    const bits = raw.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(bits) || Number(bits) > BITS[written]) return `has a prefix length other than 0 to ${BITS[written]}`;
    prefix = Number(bits);
  }
  if (written === 'ipv6' && address.family === 'ipv4') {
    // A mapped address is IPv4 when the prefix lies within the mapped part; with a shorter one its ffff bits lie past the prefix.
    if (prefix < MAPPED_BITS) return hostBits(masked(bytesOfMapped(address), prefix), prefix);
    prefix -= MAPPED_BITS;
  }
  const bytes = bytesOf(address);
  const network = masked(bytes, prefix);
  return network.every((b, i) => b === bytes[i]) ? { address, prefix } : hostBits(network, prefix);
}

/** Bits past the prefix are set: refused, naming the range meant (a typo there widens or moves a range unseen). */
function hostBits(network: number[], prefix: number): string {
  return `has bits set past its /${prefix}: the range is ${rangeText({ address: fromBytes(network), prefix })}`;
}

/** A range's canonical text: a whole address alone, else address/prefix. */
export function rangeText(r: Range): string {
  return r.prefix === BITS[r.address.family] ? r.address.text : `${r.address.text}/${r.prefix}`;
}

/** The prefix of a range counted within IPv6 (IPv4 sits at ::ffff:0:0/96), so ranges of both families compare. */
function prefix128(r: Range): number {
  return r.address.family === 'ipv4' ? MAPPED_BITS + r.prefix : r.prefix;
}

/** A set of ranges, matched natively (net.BlockList). */
export class Ranges {
  private readonly list = new net.BlockList();

  constructor(readonly ranges: readonly Range[]) {
    for (const r of ranges) this.list.addSubnet(r.address.text, r.prefix, r.address.family);
  }

  /** From canonical texts (as stored); throws on one that is not a range, which only a damaged record could hold. */
  static of(texts: readonly string[]): Ranges {
    return new Ranges(
      texts.map((t) => {
        const r = parseRange(t);
        if (typeof r === 'string') throw new Error(`not a range: ${JSON.stringify(t)} ${r}`);
        return r;
      }),
    );
  }

  /** The ranges' canonical texts, as stored and shown. */
  get texts(): string[] {
    return this.ranges.map(rangeText);
  }

  /** Whether an address (canonical) lies in one of the ranges. */
  has(address: Address): boolean {
    return this.list.check(address.text, address.family);
  }

  /**
   * The same for an address as clientAddress() names it: canonical text, or
   * a name that is no address ('unknown', 'unparsable:...'), which no range
   * holds. Skips parsing it again: this runs on every call of a key with a list.
   */
  allows(client: string): boolean {
    return this.list.check(client, client.includes(':') ? 'ipv6' : 'ipv4');
  }

  /** Whether a range lies wholly inside one of these: no longer a prefix, and its first address inside. */
  covers(inner: Range): boolean {
    return this.ranges.some((outer) => prefix128(outer) <= prefix128(inner) && new Ranges([outer]).has(inner.address));
  }
}

/** How clientAddress() names a client whose forwarded entry is no address (client-address.ts unparsableLabel). */
export const UNPARSABLE = 'unparsable:';

/**
 * The group an address is counted in by the failure limits: an IPv6 client
 * by its /64 (whoever holds one address of a /64 is given the whole of it,
 * 2^64 addresses to rotate through), an IPv4 client by its address. Every
 * malformed forwarded entry is one group, `unparsable`: each distinct entry
 * has its own label, and whoever can write one can write endless others.
 * Anything else (a verifying token) is its own group.
 */
export function clientGroup(address: string): string {
  if (address.startsWith(UNPARSABLE)) return 'unparsable';
  if (!address.includes(':') || !net.isIPv6(address)) return address;
  // Its low 64 bits are zero, so the canonical text is the first four groups
  // without their trailing zeros, then "::" (that run is always the longest).
  const groups = groupsOf(address).slice(0, 4);
  while (groups.at(-1) === 0) groups.pop();
  return `${groups.map((g) => g.toString(16)).join(':')}::/64`;
}

/** The 16 bytes of an IPv6 address, or the 4 of an IPv4 one (text already checked: net.isIPv6 / isIPv4). */
function bytesOf(a: Address): number[] {
  if (a.family === 'ipv4') return a.text.split('.').map(Number);
  const bytes: number[] = [];
  for (const g of groupsOf(a.text)) bytes.push(g >> 8, g & 0xff);
  return bytes;
}

/** The eight 16-bit groups of an IPv6 address (text already checked by net.isIPv6). */
function groupsOf(text: string): number[] {
  const gap = text.indexOf('::');
  if (gap < 0) return groups(text, []);
  const front = groups(text.slice(0, gap), []);
  const back = groups(text.slice(gap + 2), []);
  while (front.length + back.length < 8) front.push(0);
  return front.concat(back);
}

/** Appends the groups `text` spells to `out`; a dotted IPv4 tail (::1.2.3.4, ::ffff:1.2.3.4) is two. */
function groups(text: string, out: number[]): number[] {
  if (text === '') return out;
  for (const g of text.split(':')) {
    if (g.includes('.')) {
      const [p, q, r, s] = g.split('.').map(Number) as [number, number, number, number];
      out.push((p << 8) | q, (r << 8) | s);
    } else out.push(parseInt(g, 16));
  }
  return out;
}

/** The bytes of an IPv4 address as mapped into IPv6. */
function bytesOfMapped(a: Address): number[] {
  return [...new Array<number>(10).fill(0), 0xff, 0xff, ...bytesOf(a)];
}

/** `bytes` with every bit past `prefix` cleared. */
function masked(bytes: number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.min(8, Math.max(0, prefix - 8 * i));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

/** An address from its bytes (4 or 16), canonical: IPv6 goes back through inet_ntop. */
function fromBytes(bytes: number[]): Address {
  if (bytes.length === 4) return { text: bytes.join('.'), family: 'ipv4' };
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return parseAddress(groups.join(':'))!;
}
