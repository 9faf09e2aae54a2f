/**
 * The ip_allowlist param of generate_keys and auth.keys.update: every entry
 * an address or a CIDR range (src/ip.ts), kept in its canonical text, so
 * what is stored, shown and compared is one spelling (::ffff:10.0.0.0/104 is
 * 10.0.0.0/8; 203.0.113.7/32 is 203.0.113.7). An entry that is not one is
 * refused by name and index, and nothing is written.
 */
import { invalidParams, type ParamProblem } from '../errors.js';
import { parseRange, rangeText } from '../ip.js';

export function allowlistParam(entries: readonly string[] | undefined): string[] | undefined {
  if (entries === undefined) return undefined;
  const problems: ParamProblem[] = [];
  const canonical = new Set<string>();
  entries.forEach((entry, i) => {
    const range = parseRange(entry);
    if (typeof range === 'string') problems.push({ path: `/ip_allowlist/${i}`, message: `${JSON.stringify(entry)} ${range}` });
    else canonical.add(rangeText(range));
  });
  if (problems.length > 0) throw invalidParams(problems);
  // Two spellings of one range are one entry.
  return [...canonical];
}
