import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  newApiKey,
  newApiSecret,
  isWellFormedApiKey,
  isWellFormedSecret,
  parseToken,
  hashSecret,
  sameDigest,
  secretDigest,
  holdsSecret,
  secretShaped,
  withholdSecrets,
} from '../src/auth/token.js';
import { parseAuthorization } from '../src/auth/credentials.js';

describe('token format', () => {
  it('issues prefixed keys and checksummed secrets of the documented length', () => {
    const key = newApiKey();
    const secret = newApiSecret();
    expect(key).to.match(/^tak_[0-9A-Za-z]{20}$/);
    expect(secret).to.match(/^tas_[0-9A-Za-z]{30}$/);
    expect(isWellFormedApiKey(key)).to.equal(true);
    expect(isWellFormedSecret(secret)).to.equal(true);
  });

  it('never repeats a secret (1000 draws)', () => {
    const seen = new Set(Array.from({ length: 1000 }, newApiSecret));
    expect(seen.size).to.equal(1000);
  });

  it('rejects a secret with one character changed, by checksum alone', () => {
    const secret = newApiSecret();
    const i = 10;
    const flipped = secret.slice(0, i) + (secret[i] === 'a' ? 'b' : 'a') + secret.slice(i + 1);
    expect(isWellFormedSecret(flipped)).to.equal(false);
    const badChecksum = secret.slice(0, -1) + (secret.endsWith('0') ? '1' : '0');
    expect(isWellFormedSecret(badChecksum)).to.equal(false);
  });

  it('parses key:secret and refuses other shapes', () => {
    const key = newApiKey();
    const secret = newApiSecret();
    expect(parseToken(`${key}:${secret}`)).to.deep.equal({ apiKey: key, apiSecret: secret });
    for (const bad of ['', key, `${key}:`, `:${secret}`, `${secret}:${key}`, `${key}:${secret}x`, `${key} :${secret}`]) {
      expect(parseToken(bad), bad).to.equal(null);
    }
  });

  it('hashes with SHA-256 and compares digests', () => {
    const h = hashSecret('x');
    expect(h).to.match(/^[0-9a-f]{64}$/);
    const digest = Buffer.from(h, 'hex');
    expect(sameDigest(secretDigest('x'), digest)).to.equal(true);
    expect(sameDigest(secretDigest('y'), digest)).to.equal(false);
    expect(sameDigest(Buffer.from('short'), digest)).to.equal(false);
  });
});

describe('a secret in a text: its body, however it is prefixed (found by an outside attacker)', () => {
  const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const randomBase62 = (n: number) => Array.from(randomBytes(n), (b) => BASE62[b % 62]).join('');
  /** The spellings that leaked a live secret past the literal `tas_`, and the bare body. */
  const spellings = (body: string) => ({
    bare: body,
    upper: `TAS_${body}`,
    'html entity': `tas&#95;${body}`,
    'escape text': `tas\\u005f${body}`,
    'overlong UTF-8, percent-encoded': `tas%C1%9F${body}`,
    'full-width underscore': `tas\uff3f${body}`,
    'no separator': `tas${body}`,
  });
  /** A body that fails its checksum: one character of the 24 changed, or of the 6. */
  const nearMisses = (body: string) => [body.slice(0, 5) + (body[5] === 'a' ? 'b' : 'a') + body.slice(6), body.slice(0, -1) + (body.endsWith('0') ? '1' : '0')];

  it('finds the body of a secret whatever precedes or follows it, and withholds just the body', () => {
    for (let i = 0; i < 20; i++) {
      const body = newApiSecret().slice(4);
      for (const [name, text] of Object.entries(spellings(body))) {
        for (const [before, after] of [
          ['', ''],
          ['url=https://x.example/?q=', '&page=2'],
          ['Abc', 'xyz123'], // alphanumerics on both sides: the body stands inside a longer run
        ]) {
          const whole = `${before}${text}${after}`;
          expect(holdsSecret(whole), `${name}: ${whole}`).to.equal(true);
          expect(secretShaped(whole), `${name}: ${whole}`).to.equal(true);
          const shown = withholdSecrets(whole);
          expect(shown, name).to.equal(whole.replace(body, '[withheld]'));
          expect(shown, name).not.to.include(body.slice(0, 24));
        }
      }
    }
  });

  it('keeps what it printed for the normal form, and withholds a made-up tas_... by its shape', () => {
    const secret = newApiSecret();
    expect(withholdSecrets(`see ${secret} and ${secret}.`)).to.equal('see tas_[withheld] and tas_[withheld].');
    const madeUp = `tas_${'a'.repeat(30)}`;
    expect(secretShaped(madeUp)).to.equal(true);
    expect(holdsSecret(madeUp)).to.equal(false);
    expect(withholdSecrets(`x=${madeUp}`)).to.equal('x=tas_[withheld]');
  });

  it('leaves a near-miss (wrong checksum) in any of those spellings alone', () => {
    for (let i = 0; i < 20; i++) {
      for (const miss of nearMisses(newApiSecret().slice(4))) {
        for (const [name, text] of Object.entries(spellings(miss))) {
          expect(holdsSecret(text), `${name}: ${text}`).to.equal(false);
          expect(secretShaped(text), `${name}: ${text}`).to.equal(false);
          expect(withholdSecrets(text), name).to.equal(text);
        }
      }
    }
  });

  it('finds every body planted at any offset of long runs (the rolling checksum agrees with zlib), and nothing else', () => {
    for (let i = 0; i < 50; i++) {
      const bodies = [1, 2, 3].map(() => newApiSecret().slice(4));
      const text = bodies.map((b) => randomBase62(i * 7) + b).join('-') + randomBase62(i);
      expect(holdsSecret(text)).to.equal(true);
      expect(withholdSecrets(text).split('[withheld]')).to.have.length(4);
      for (const b of bodies) expect(withholdSecrets(text)).not.to.include(b);
    }
  });

  it('refuses no honest text: ids, digests, base64, api keys, a megabyte of random alphanumerics', () => {
    const honest = [
      'jane.doe+ops@example.com',
      'José  García-Ñúñez',
      '3f2a6c1e-8b4d-4e0f-9a7b-1c2d3e4f5a6b',
      '3f2a6c1e8b4d4e0f9a7b1c2d3e4f5a6b',
      hashSecret('x'),
      randomBytes(300).toString('base64'),
      randomBytes(300).toString('base64url'),
      newApiKey(),
      `tas_${'a'.repeat(29)}`,
      'a'.repeat(100_000),
      '0'.repeat(100_000),
      // 1e6 windows at 1 in 62^6 each: a look-alike about once in 57,000 runs.
      randomBase62(1_000_000),
    ];
    for (const text of honest) {
      expect(holdsSecret(text), text.slice(0, 80)).to.equal(false);
      expect(withholdSecrets(text), text.slice(0, 80)).to.equal(text);
    }
  });
});

describe('Authorization header', () => {
  const key = newApiKey();
  const secret = newApiSecret();
  const expected = { apiKey: key, apiSecret: secret };

  it('reads "token key:secret" in any letter case of the scheme', () => {
    expect(parseAuthorization(`token ${key}:${secret}`)).to.deep.equal(expected);
    expect(parseAuthorization(`Token ${key}:${secret}`)).to.deep.equal(expected);
  });

  it('reads "Basic base64(key:secret)"', () => {
    const b64 = Buffer.from(`${key}:${secret}`).toString('base64');
    expect(parseAuthorization(`Basic ${b64}`)).to.deep.equal(expected);
  });

  it('refuses everything else', () => {
    for (const bad of [
      undefined,
      '',
      'token',
      `Bearer ${key}:${secret}`,
      `token ${key}`,
      `Basic ${key}:${secret}`,
      'Basic !!!',
      `token ${'a'.repeat(10_000)}`,
    ]) {
      expect(parseAuthorization(bad), String(bad)).to.equal(null);
    }
  });
});
