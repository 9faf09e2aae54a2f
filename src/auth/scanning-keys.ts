/**
 * The public keys GitHub signs its secret-scanning reports with, and the
 * check of a signature: ECDSA P-256 over SHA-256 of the raw request body,
 * DER-encoded and sent base64 in Github-Public-Key-Signature, made with the
 * key named by Github-Public-Key-Identifier.
 *
 * The keys come from what the operator configures, in the shape of GitHub's
 * https://api.github.com/meta/public_keys/secret_scanning answer
 * ({"public_keys": [{"key_identifier", "key" (PEM), "is_current"}]}):
 *
 * - SECRET_SCANNING_KEYS_FILE: read once at start; a file that cannot be
 *   read or holds no P-256 key stops the start (an operator's mistake);
 * - SECRET_SCANNING_KEYS_URL: fetched in the background, never on the way
 *   to start, and asked again when its answer is older than
 *   SECRET_SCANNING_KEYS_REFRESH_MS (the last good answer is kept until a
 *   new one comes). A report naming a key nobody knows may make it ask at
 *   once (GitHub rotated its key), but at most once a minute: unsigned
 *   strangers naming made-up keys cannot make the service fetch more.
 *
 * Every fetch is bounded: FETCH_TIMEOUT_MS, MAX_KEYS_BYTES, no redirects.
 * Keys from both are used; each key_identifier names one key.
 */
import fs from 'node:fs/promises';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { Logger } from '../log.js';

export interface ScanningKeysOptions {
  file?: string | undefined;
  url?: string | undefined;
  refreshMs: number;
}

const FETCH_TIMEOUT_MS = 5000;
const MAX_KEYS_BYTES = 64 * 1024;
/** A report naming an unknown key asks the URL again at most this often. */
export const UNKNOWN_KEY_REFETCH_MS = 60_000;
/** GitHub's identifiers are SHA-256 hex; anything of this shape is looked up, nothing else. */
const KEY_ID = /^[A-Za-z0-9._=+/-]{1,128}$/;
/** A DER ECDSA P-256 signature is at most 72 bytes: 96 characters of base64. */
const SIGNATURE = /^[A-Za-z0-9+/]{16,128}={0,2}$/;

export class ScanningKeys {
  private fromFile = new Map<string, KeyObject>();
  private fromUrl = new Map<string, KeyObject>();
  /** When the URL last answered well, and when it was last asked (ms). */
  private fetchedAt = -Infinity;
  private askedAt = -Infinity;
  private fetching: Promise<void> | undefined;
  private saidFailed = false;

  private constructor(
    private readonly opts: ScanningKeysOptions,
    private readonly log: Logger,
  ) {}

  /** Reads the file (throwing if it is unusable) and starts asking the URL, without waiting for it. */
  static async load(opts: ScanningKeysOptions, log: Logger): Promise<ScanningKeys> {
    const keys = new ScanningKeys(opts, log);
    if (opts.file !== undefined) {
      let text: string;
      try {
        text = await fs.readFile(opts.file, 'utf8');
      } catch (err) {
        throw new Error(`SECRET_SCANNING_KEYS_FILE cannot be read: ${(err as Error).message}`);
      }
      keys.fromFile = parseKeys(text, log);
      if (keys.fromFile.size === 0) throw new Error('SECRET_SCANNING_KEYS_FILE holds no P-256 public key in the shape {"public_keys": [...]}');
    }
    if (opts.url !== undefined) void keys.refresh();
    return keys;
  }

  /** True when any key source is configured: the endpoint is served. */
  get enabled(): boolean {
    return this.opts.file !== undefined || this.opts.url !== undefined;
  }

  /** Whether a header pair is worth a lookup at all (cheap, before the body is read). */
  static wellFormed(id: string | undefined, signature: string | undefined): boolean {
    return id !== undefined && signature !== undefined && KEY_ID.test(id) && SIGNATURE.test(signature);
  }

  /**
   * The key `id` names, asking the URL again first when the answer is stale
   * (in the background) or the key is unknown (waiting, at most once a minute).
   */
  async find(id: string): Promise<KeyObject | undefined> {
    const known = this.get(id);
    const now = Date.now();
    if (this.opts.url === undefined) return known;
    if (known) {
      if (now - this.fetchedAt > this.opts.refreshMs && now - this.askedAt > UNKNOWN_KEY_REFETCH_MS) void this.refresh();
      return known;
    }
    if (this.fetching) await this.fetching;
    else if (now - this.askedAt >= UNKNOWN_KEY_REFETCH_MS) await this.refresh();
    return this.get(id);
  }

  /** The key `id` names, as known now. */
  get(id: string): KeyObject | undefined {
    return this.fromFile.get(id) ?? this.fromUrl.get(id);
  }

  /** Whether `signature` (base64 DER) is `key`'s over exactly these bytes. */
  static verify(key: KeyObject, body: Buffer, signature: string): boolean {
    try {
      return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      return false; // not DER at all
    }
  }

  /** Asks the URL (one request at a time); keeps the last good answer when it fails. */
  refresh(): Promise<void> {
    this.fetching ??= this.fetchKeys().finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  private async fetchKeys(): Promise<void> {
    this.askedAt = Date.now();
    try {
      const res = await fetch(this.opts.url!, {
        headers: { Accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await boundedText(res);
      const keys = parseKeys(text, this.log);
      if (keys.size === 0) throw new Error('no P-256 public key in the answer');
      this.fromUrl = keys;
      this.fetchedAt = Date.now();
      if (this.saidFailed) this.log.info({ keys: keys.size }, 'secret scanning: signing keys fetched again');
      this.saidFailed = false;
    } catch (err) {
      // Reports signed by keys already known (or in the file) still work.
      if (!this.saidFailed) this.log.warn({ err: (err as Error).message }, 'secret scanning: cannot fetch the signing keys from SECRET_SCANNING_KEYS_URL');
      this.saidFailed = true;
    }
  }
}

async function boundedText(res: Response): Promise<string> {
  if (Number(res.headers.get('content-length')) > MAX_KEYS_BYTES) throw new Error('answer too large');
  const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_KEYS_BYTES) {
      await reader.cancel();
      throw new Error('answer too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** GitHub's key list -> P-256 keys by identifier; anything else in it is skipped with a warning. */
export function parseKeys(text: string, log: Logger): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return keys;
  }
  const list = (doc as { public_keys?: unknown } | null)?.public_keys;
  if (!Array.isArray(list)) return keys;
  for (const entry of list as unknown[]) {
    const { key_identifier: id, key: pem } = (entry ?? {}) as { key_identifier?: unknown; key?: unknown };
    if (typeof id !== 'string' || !KEY_ID.test(id) || typeof pem !== 'string') continue;
    try {
      const key = createPublicKey(pem);
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not a P-256 key');
      keys.set(id, key);
    } catch (err) {
      log.warn({ key_identifier: id, err: (err as Error).message }, 'secret scanning: a signing key was skipped');
    }
  }
  return keys;
}
