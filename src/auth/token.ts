/**
 * The token format. Frappe's keys are 15 hex characters (60 bits); ours:
 *
 *   api_key    tak_<20 alphanumerics>                 ~119 random bits, public
 *   api_secret tas_<24 alphanumerics><6 checksum>     ~143 random bits, shown once
 *
 * The prefixes make a leaked secret easy to scan for (as GitHub's ghp_ tokens
 * are); the CRC-32 checksum lets a mistyped or forged secret be refused before
 * any database lookup. Alphanumerics only, so a double-click selects the
 * whole value and no URL or header encoding is ever needed.
 *
 * The api_key is minted by the key store, so its half of the format lives
 * there (store/api-key.ts) and is re-exported here; the secret's is here.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { customAlphabet } from 'nanoid';
import { BASE62, isWellFormedApiKey } from '../store/api-key.js';

export { newApiKey, isWellFormedApiKey } from '../store/api-key.js';

const SECRET_PREFIX = 'tas_';
const SECRET_BODY = 24;
const CHECKSUM = 6; // 62^6 > 2^32, so any CRC-32 fits

const randomSecretBody = customAlphabet(BASE62, SECRET_BODY);

const SECRET_RE = new RegExp(`^${SECRET_PREFIX}[0-9A-Za-z]{${SECRET_BODY + CHECKSUM}}$`);

function base62(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = BASE62.charAt(n % 62) + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function checksum(body: string): string {
  return base62(crc32(body), CHECKSUM);
}

export function newApiSecret(): string {
  const body = randomSecretBody();
  return SECRET_PREFIX + body + checksum(body);
}

/** The normal form's shape anywhere in a text (the checksum unchecked); global, for search and replace. */
const SECRET_IN_TEXT = new RegExp(`${SECRET_PREFIX}[0-9A-Za-z]{${SECRET_BODY + CHECKSUM}}`, 'g');

/**
 * The prefix is a constant, so a secret's body (the 30 characters after
 * `tas_`) alone IS the secret: `TAS_<body>`, `tas&#95;<body>`, `tas\u005f<body>`,
 * `tas＿<body>` or the bare body leak it as surely as `tas_<body>` (found by
 * an outside attacker). So a body is looked for wherever it stands: any 30
 * characters of a run of alphanumerics, whatever precedes or follows them,
 * whose last 6 are the CRC-32 of the first 24. The checksum is what keeps this
 * from refusing honest text: a random window passes with odds 1 in 62^6
 * (~1.8e-11), so a gigabyte of random alphanumerics (~1e9 windows) holds a
 * look-alike about 2% of the time, and ordinary text (names, ids, hex
 * digests, base64) essentially never.
 *
 * Each window's CRC is rolled from the previous one (a few operations per
 * character, not 24): a megabyte of params or a URL costs milliseconds, not a
 * CRC per position. Only runs of 30 or more alphanumerics are looked at, so
 * short texts (most params, request ids) cost one length check.
 */
export const SECRET_BODY_LENGTH = SECRET_BODY + CHECKSUM;

/** CRC-32 (the reflected 0xEDB88320 polynomial zlib uses), one byte at a time. */
const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}
const crcStep = (reg: number, byte: number) => CRC_TABLE[(reg ^ byte) & 0xff]! ^ (reg >>> 8);
/** The register after `bytes` from `reg`, without zlib's final inversion. */
function crcRun(reg: number, bytes: Uint8Array): number {
  for (const byte of bytes) reg = crcStep(reg, byte);
  return reg;
}
const ZEROS = new Uint8Array(SECRET_BODY);
/**
 * CRC-32 is linear: crc32(w) = raw(w) ^ K for every w of 24 bytes, where raw
 * starts from 0 and K is what zlib's initial and final inversions add. Sliding
 * one byte on: raw(w[1..] + c) = step(raw(w), c) ^ OUT[w[0]], OUT[b] being raw
 * of b followed by 24 zeros (the leaving byte's trace).
 */
const K = (crcRun(-1, ZEROS) ^ -1) >>> 0;
const OUT = Int32Array.from({ length: 256 }, (_, b) => crcRun(crcStep(0, b), ZEROS));

/** A base62 digit's value (the text is known to be alphanumeric). */
function digit(code: number): number {
  return code <= 57 ? code - 48 : code <= 90 ? code - 55 : code - 61;
}

/** The number the 6 base62 digits at `at` spell. */
function checksumAt(text: string, at: number): number {
  let n = 0;
  for (let i = at; i < at + CHECKSUM; i++) n = n * 62 + digit(text.charCodeAt(i));
  return n;
}

/** '4': any CRC-32 is below 5 * 62^5, so a checksum's first digit is 0-4 (57 windows in 62 stop at that test). */
const HIGHEST_FIRST_DIGIT = 52;

/** Where the first secret body at or after `from` starts, or -1. One pass over the text, to find the runs long enough. */
function bodyFrom(text: string, from: number): number {
  let run = from;
  for (let i = from; i <= text.length; i++) {
    if (i < text.length && alphanumeric(text.charCodeAt(i))) continue;
    if (i - run >= SECRET_BODY_LENGTH) {
      const at = bodyIn(text, run, i);
      if (at >= 0) return at;
    }
    run = i + 1;
  }
  return -1;
}

function alphanumeric(code: number): boolean {
  const lower = code | 0x20; // A-Z -> a-z
  return (code >= 48 && code <= 57) || (lower >= 97 && lower <= 122);
}

/** Where the first body in the run of alphanumerics text[start, end) starts, or -1: each window's CRC rolled from the last. */
function bodyIn(text: string, start: number, end: number): number {
  let raw = 0;
  for (let i = start; i < start + SECRET_BODY; i++) raw = crcStep(raw, text.charCodeAt(i));
  for (let at = start; ; at++) {
    const next = text.charCodeAt(at + SECRET_BODY);
    if (next <= HIGHEST_FIRST_DIGIT && (raw ^ K) >>> 0 === checksumAt(text, at + SECRET_BODY)) return at;
    if (at + SECRET_BODY_LENGTH >= end) return -1;
    raw = crcStep(raw, next) ^ OUT[text.charCodeAt(at)]!;
  }
}

/**
 * Whether a text holds something shaped like a secret: the normal form
 * (tas_ and 30 alphanumerics, the checksum unchecked: cheap, and a made-up
 * tas_... is refused where a real one would be), or a secret's body
 * anywhere, in any disguise (its checksum checked).
 */
export function secretShaped(text: string): boolean {
  if (text.length < SECRET_BODY_LENGTH) return false;
  return (text.includes(SECRET_PREFIX) && text.search(SECRET_IN_TEXT) >= 0) || bodyFrom(text, 0) >= 0;
}

/** Whether a text holds a real secret of ours (a body whose checksum holds), anywhere in it, however prefixed. */
export function holdsSecret(text: string): boolean {
  return text.length >= SECRET_BODY_LENGTH && bodyFrom(text, 0) >= 0;
}

/**
 * The text with every secret's body replaced by `[withheld]`, whatever
 * precedes it, and anything else shaped like the normal form by
 * `tas_[withheld]`: `tas_<body>` reads `tas_[withheld]`, `TAS_<body>`
 * `TAS_[withheld]`.
 */
export function withholdSecrets(text: string): string {
  let out = '';
  let from = 0;
  if (text.length >= SECRET_BODY_LENGTH) {
    for (let at = bodyFrom(text, 0); at >= 0; at = bodyFrom(text, from)) {
      out += text.slice(from, at) + '[withheld]';
      from = at + SECRET_BODY_LENGTH;
    }
  }
  out += text.slice(from);
  return out.replace(SECRET_IN_TEXT, `${SECRET_PREFIX}[withheld]`);
}

/** The secrets in a text, in order, each as `tas_` and its body, however the text prefixed it. */
export function secretsIn(text: string): string[] {
  const found: string[] = [];
  if (text.length < SECRET_BODY_LENGTH) return found;
  for (let at = bodyFrom(text, 0); at >= 0; at = bodyFrom(text, at + SECRET_BODY_LENGTH)) {
    found.push(SECRET_PREFIX + text.slice(at, at + SECRET_BODY_LENGTH));
  }
  return found;
}

/** Shape and checksum: no database needed to refuse a typo or a guess. */
export function isWellFormedSecret(secret: string): boolean {
  if (!SECRET_RE.test(secret)) return false;
  const body = secret.slice(SECRET_PREFIX.length, SECRET_PREFIX.length + SECRET_BODY);
  return secret.slice(-CHECKSUM) === checksum(body);
}

/**
 * Secrets carry ~143 random bits, so a plain SHA-256 is the right hash: a slow
 * password hash (bcrypt) would only cap throughput without adding safety.
 */
export function hashSecret(secret: string): string {
  // One-shot crypto.hash: a third of createHash()'s cost on the hot path.
  return hash('sha256', secret, 'hex');
}

/**
 * The same digest as bytes, for the token check. Asked for as binary (latin1) text
 * and copied into a buffer: Node 20's crypto.hash is three times slower when
 * asked for a Buffer directly (1.3 µs against 0.4 µs here, on every request).
 */
export function secretDigest(secret: string): Buffer {
  const digest = Buffer.allocUnsafe(32);
  digest.write(hash('sha256', secret, 'binary'), 'latin1');
  return digest;
}

/** Constant-time comparison of two SHA-256 digests. */
export function sameDigest(a: Buffer, b: Buffer): boolean {
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}

export interface TokenParts {
  apiKey: string;
  apiSecret: string;
}

/** "key:secret" -> parts, or null when the shape or checksum is wrong. */
export function parseToken(token: string): TokenParts | null {
  const colon = token.indexOf(':');
  if (colon < 0) return null;
  const apiKey = token.slice(0, colon);
  const apiSecret = token.slice(colon + 1);
  if (!isWellFormedApiKey(apiKey) || !isWellFormedSecret(apiSecret)) return null;
  return { apiKey, apiSecret };
}
