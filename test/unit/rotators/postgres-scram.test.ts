// SCRAM-SHA-256 verifiers against RFC 7677's worked example, and their PostgreSQL text form.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SCRAM_ITERATIONS, parseVerifier, scramSecret, scramVerifier, verifierMatches } from '../../../rotators/postgres/scram.js';

// RFC 7677, section 3: user "user", password "pencil", and the messages of one exchange.
const RFC = {
  password: 'pencil',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  iterations: 4096,
  clientFirstBare: 'n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinalWithoutProof: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientProof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};
const authMessage = `${RFC.clientFirstBare},${RFC.serverFirst},${RFC.clientFinalWithoutProof}`;
const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

describe('SCRAM-SHA-256 verifier', () => {
  const secret = scramSecret(RFC.password, Buffer.from(RFC.salt, 'base64'), RFC.iterations);

  it("produces the ServerKey that signs RFC 7677's exchange (the server's v= value)", () => {
    expect(hmac(secret.serverKey, authMessage).toString('base64')).toBe(RFC.serverSignature);
  });

  it("produces the StoredKey that accepts RFC 7677's client proof, as a server checks it", () => {
    const signature = hmac(secret.storedKey, authMessage);
    const proof = Buffer.from(RFC.clientProof, 'base64');
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ (signature[i] ?? 0)));
    expect(createHash('sha256').update(clientKey).digest().equals(secret.storedKey)).toBe(true);
  });

  it('writes the form pg_authid stores: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>', () => {
    const text = scramVerifier(RFC.password, { salt: Buffer.from(RFC.salt, 'base64') });
    expect(text).toBe(`SCRAM-SHA-256$4096:${RFC.salt}$${secret.storedKey.toString('base64')}:${secret.serverKey.toString('base64')}`);
    expect(parseVerifier(text)).toEqual(secret);
  });

  it('uses a fresh 16-byte salt and 4096 iterations by default', () => {
    const a = parseVerifier(scramVerifier('same-password'));
    const b = parseVerifier(scramVerifier('same-password'));
    expect(a?.iterations).toBe(SCRAM_ITERATIONS);
    expect(a?.salt).toHaveLength(16);
    expect(a?.salt.equals(b?.salt ?? Buffer.alloc(0))).toBe(false);
  });

  it('never contains the password', () => {
    const password = 'Kq7!visible-in-cleartext?';
    expect(scramVerifier(password)).not.toContain(password);
  });

  it('tells the password it was built from apart from any other', () => {
    const text = scramVerifier('right-password');
    expect(verifierMatches(text, 'right-password')).toBe(true);
    expect(verifierMatches(text, 'wrong-password')).toBe(false);
    expect(verifierMatches('md5c0ffee', 'right-password')).toBe(false);
  });

  it('refuses a password outside printable ASCII, which SASLprep could change', () => {
    expect(() => scramVerifier('pässwörd-1234567')).toThrow(/printable ASCII/);
    expect(() => scramVerifier('tab\there-1234567')).toThrow(/printable ASCII/);
  });

  it('rejects text that is not a SCRAM-SHA-256 verifier', () => {
    for (const text of [null, '', 'md5abcdef', 'SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA', 'SCRAM-SHA-1$4096:a$b:c']) {
      expect(parseVerifier(text)).toBeNull();
    }
  });
});
