import { expect } from 'chai';
import { newApiKey, newApiSecret, isWellFormedApiKey, isWellFormedSecret, parseToken, hashSecret, sameDigest, secretDigest } from '../src/auth/token.js';
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
