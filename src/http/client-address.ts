/**
 * Who the client is, by address: the one answer the IP allowlists, the
 * failure limits, the per-client body limits and the audit log all use.
 *
 * Without TRUSTED_PROXIES it is the socket's peer, and X-Forwarded-For is
 * ignored: anyone can write that header, so believing it would let a client
 * pick the address its key's allowlist and its failure limits see.
 *
 * With TRUSTED_PROXIES, a request whose peer is a trusted proxy is walked
 * back through X-Forwarded-For (every header line, in order, as one list)
 * from the right: each proxy appends the address it received the request
 * from, so the rightmost entries were written by our proxies and the ones
 * further left by whoever came before them. Trusted hops are skipped; the
 * first untrusted address is the client. Everything left of it is the
 * client's own word and is never read, so a forged leftmost entry changes
 * nothing. A malformed entry ends the walk and is taken as the client:
 * skipping it would believe what lies beyond it. It is named by a label
 * (unparsableLabel), never by its text. If every hop is trusted, the
 * leftmost one is the client.
 *
 * Addresses are canonical (src/ip.ts): an IPv4-mapped peer is its IPv4 address.
 */
import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parseAddress, peerAddress, UNPARSABLE, type Ranges } from '../ip.js';

export function clientAddress(req: IncomingMessage, trusted: Ranges | null): string {
  const peer = peerAddress(req.socket.remoteAddress);
  if (trusted === null || !isTrusted(trusted, peer)) return peer;
  const lines = req.headersDistinct['x-forwarded-for'];
  if (lines === undefined) return peer;
  const hops = lines.flatMap((line) => line.split(','));
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const entry = hops[i]!.trim();
    const address = parseAddress(entry);
    if (address === null) return unparsableLabel(entry);
    client = address.text;
    if (!trusted.has(address)) return client;
  }
  return client;
}

/** Whether a peer (canonical, as peerAddress gives it) is a trusted proxy. */
export function isTrusted(trusted: Ranges, peer: string): boolean {
  return trusted.allows(peer);
}

/**
 * A malformed entry as a client's name: `unparsable:` and 16 hex digits of a
 * hash of it. Only a trusted hop can put an entry there, but a proxy that
 * passes its client's header along lets anyone write it, and the name is
 * stored in audit entries, logged, and echoed in the allowlist's 403. So its
 * text is never kept: it may hold a secret (`X-Forwarded-For: tas_...`),
 * control characters, or any length. The hash still tells one bad entry from
 * another when reading the log; it is domain-separated so that a secret's
 * label is no prefix of its stored hash (a plain SHA-256, auth/token.ts).
 *
 * Why a label and not the trusted hop's address: the hop (a proxy, often in
 * an internal range) may lie in a key's ip_allowlist, so naming the client
 * by it would let a garbage entry pass that list; a label matches no range.
 * The failure and body limits do not count these labels one by
 * one, or rotating the garbage would be a new client each time: ip.ts
 * clientGroup puts every one of them in a single group.
 */
export function unparsableLabel(entry: string): string {
  return `${UNPARSABLE}${hash('sha256', `x-forwarded-for entry\0${entry}`, 'hex').slice(0, 16)}`;
}
