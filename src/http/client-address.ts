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
 * nothing. A malformed entry ends the walk and is taken as the client (its
 * text, cut short): skipping it would believe what lies beyond it. If every
 * hop is trusted, the leftmost one is the client.
 *
 * Addresses are canonical (src/ip.ts): an IPv4-mapped peer is its IPv4 address.
 */
import type { IncomingMessage } from 'node:http';
import { parseAddress, peerAddress, type Ranges } from '../ip.js';
import { withholdSecrets } from '../auth/token.js';

/** Longest malformed entry kept as a client's name; the rest is of no use to anyone. */
const MAX_SHOWN = 64;

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
    if (address === null) return shown(entry);
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
 * A malformed entry as a name: printable ASCII only (it reaches logs and
 * messages), bounded, never empty, and with anything shaped like a secret
 * withheld (before it is cut short, which could keep most of one).
 */
function shown(entry: string): string {
  const text = withholdSecrets(entry)
    .slice(0, MAX_SHOWN)
    .replace(/[^\x21-\x7e]/g, '?');
  return `unparsable:${text || '(empty)'}`;
}
