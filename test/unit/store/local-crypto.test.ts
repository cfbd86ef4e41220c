import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf } from '../../../src/cli/exit-codes.js';
import { InvalidInputError, PermanentError } from '../../../src/errors.js';
import type { SecretValue } from '../../../src/rotator/contract.js';
import { aadFor, openValue, sameValue, sealValue, sealingKey, type SealedValue } from '../../../src/store/local/crypto.js';
import { keyIdOf } from '../../../src/store/master-key.js';

const PASSWORD = 'Vq3-unit-crypto-password-7Zr';
const value: SecretValue = { username: 'app_a', password: PASSWORD, port: 5432 };
const keyA = sealingKey(randomBytes(32));
const keyB = sealingKey(randomBytes(32));

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

/** Nothing a caller may log mentions the value. */
function expectNoValue(err: Error): void {
  const text = `${err.message} ${(err as PermanentError).hint ?? ''} ${err.stack ?? ''}`;
  expect(text).not.toContain(PASSWORD);
}

describe('sealing values (AES-256-GCM)', () => {
  it('round-trips a value and keeps no plaintext in what it stores', () => {
    const sealed = sealValue(keyA, 'payments/db', 'v1', value);
    expect(openValue(keyA, 'payments/db', 'v1', sealed)).toEqual(value);
    const stored = Buffer.concat([sealed.ciphertext, sealed.nonce, sealed.authTag, Buffer.from(sealed.keyId)]);
    expect(stored.includes(PASSWORD)).toBe(false);
    expect(stored.includes('app_a')).toBe(false);
    expect(sealed.nonce).toHaveLength(12);
    expect(sealed.authTag).toHaveLength(16);
    expect(sealed.keyId).toBe(keyIdOf(keyA.key));
  });

  it('uses a fresh nonce for every encryption', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) seen.add(sealValue(keyA, 'l', 'v', value).nonce.toString('hex'));
    expect(seen.size).toBe(50);
  });

  it('names both key ids when the key is wrong, instead of failing inside GCM', () => {
    const sealed = sealValue(keyA, 'payments/db', 'v1', value);
    const fromEnv = { ...keyB, source: 'env' as const };
    const err = thrown(() => openValue(fromEnv, 'payments/db', 'v1', sealed));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(
      `version v1 of payments/db in the local store is encrypted with key ${keyA.keyId}, ROTOR_MASTER_KEY is ${keyB.keyId}`,
    );
    // A configuration to fix, not a bug in rotor: the CLI exits 2 and says which key to use.
    expect(exitCodeOf(err)).toBe(EXIT.USAGE);
    expect((err as PermanentError).hint).toContain(`use the master key whose id is ${keyA.keyId}`);
    const fromFile = { ...keyB, source: 'file' as const, path: '.rotor/master.key' };
    expect(thrown(() => openValue(fromFile, 'payments/db', 'v1', sealed)).message).toContain(
      `the key file .rotor/master.key is ${keyB.keyId}`,
    );
  });

  it.each<[string, (s: SealedValue) => SealedValue]>([
    ['a flipped ciphertext bit', (s) => ({ ...s, ciphertext: flip(s.ciphertext) })],
    ['a flipped tag bit', (s) => ({ ...s, authTag: flip(s.authTag) })],
    ['another nonce', (s) => ({ ...s, nonce: randomBytes(12) })],
    ['a truncated tag', (s) => ({ ...s, authTag: s.authTag.subarray(0, 8) })],
    ['a truncated ciphertext', (s) => ({ ...s, ciphertext: s.ciphertext.subarray(1) })],
  ])('refuses %s', (_what, tamper) => {
    const sealed = sealValue(keyA, 'payments/db', 'v1', value);
    const err = thrown(() => openValue(keyA, 'payments/db', 'v1', tamper(sealed)));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain('failed its integrity check');
    expectNoValue(err);
  });

  it('refuses a ciphertext moved to another version or location (the AAD binds it)', () => {
    const sealed = sealValue(keyA, 'payments/db', 'v1', value);
    for (const [location, version] of [
      ['payments/db', 'v2'],
      ['billing/db', 'v1'],
      ['payments', 'db/v1'],
    ] as const) {
      const err = thrown(() => openValue(keyA, location, version, sealed));
      expect(err.message).toContain('copied from another location or version');
    }
  });

  it('encodes the (location, version) pair unambiguously', () => {
    expect(aadFor('a/b', 'c').equals(aadFor('a', 'b/c'))).toBe(false);
    expect(aadFor('a"', 'b').equals(aadFor('a', '"b'))).toBe(false);
  });

  it('compares values whatever their key order, and tells a number from its string', () => {
    expect(sameValue({ a: '1', b: 2 }, { b: 2, a: '1' })).toBe(true);
    expect(sameValue({ a: 1 }, { a: '1' })).toBe(false);
    expect(sameValue({ a: 'x' }, { a: 'x', b: 'y' })).toBe(false);
  });

  it.each<[string, unknown]>([
    ['a nested object', { username: 'u', password: { nested: PASSWORD } }],
    ['NaN', { username: 'u', port: Number.NaN }],
    ['an array', [PASSWORD]],
    ['null', null],
  ])('refuses %s as a value, naming the field but not the content', (_what, bad) => {
    const err = thrown(() => sealValue(keyA, 'l', 'v', bad as SecretValue));
    expect(err).toBeInstanceOf(InvalidInputError);
    expectNoValue(err);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => sealingKey(randomBytes(16))).toThrow(/is 16 bytes; it must be 32/);
  });
});

function flip(buf: Buffer): Buffer {
  const copy = Buffer.from(buf);
  copy[0] = (copy[0] ?? 0) ^ 1;
  return copy;
}
