// Sealing and opening the local store's values: AES-256-GCM, one random nonce per encryption, and
// additional data that binds each ciphertext to its (location, version id) so rows cannot be swapped.
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidInputError, PermanentError, WrongMasterKeyError } from '../../errors.js';
import type { SecretValue } from '../../rotator/contract.js';
import { keyIdOf, MASTER_KEY_BYTES, type MasterKey } from '../master-key.js';

const ALGORITHM = 'aes-256-gcm';
const NONCE_BYTES = 12;
/** Fixed, and passed to the decipher: GCM would otherwise accept a truncated (forgeable) tag. */
const TAG_BYTES = 16;
/** Versioned so a future format change cannot be confused with this one. */
const AAD_CONTEXT = 'rotor/local-store/v1';

/** The key as the store uses it; `source` and `path` only improve the wrong-key message. */
export type SealingKey = Pick<MasterKey, 'key' | 'keyId'> &
  Partial<Pick<MasterKey, 'source' | 'path'>> & {
    /** Keys that open older versions (a master key rotation in progress); never used to seal. */
    previous?: ReadonlyArray<Pick<MasterKey, 'key' | 'keyId'>> | undefined;
  };

export interface SealedValue {
  ciphertext: Buffer;
  nonce: Buffer;
  authTag: Buffer;
  keyId: string;
}

/** Accepts the raw 32 bytes or a loaded MasterKey. */
export function sealingKey(key: Buffer | SealingKey): SealingKey {
  const k = Buffer.isBuffer(key) ? { key, keyId: keyIdOf(key) } : key;
  if (k.key.length !== MASTER_KEY_BYTES) {
    throw new InvalidInputError(`the local store's master key is ${k.key.length} bytes; it must be ${MASTER_KEY_BYTES}`, {
      hint: 'load it with loadMasterKey (ROTOR_MASTER_KEY or the key file)',
    });
  }
  return k;
}

/** JSON of a tuple, so ('a/b', 'c') and ('a', 'b/c') can never produce the same bytes. */
export function aadFor(location: string, versionId: string): Buffer {
  return Buffer.from(JSON.stringify([AAD_CONTEXT, location, versionId]), 'utf8');
}

/**
 * The value as bytes, with keys sorted so that equal values always encode alike (putPending compares
 * them). Checks the shape at run time too: a value is a flat object of strings and finite numbers.
 * Errors name the field, never its content.
 */
export function encodeValue(value: SecretValue): Buffer {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError('a secret value must be a flat JSON object', { hint: 'e.g. { "username": "...", "password": "..." }' });
  }
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [field, v] of entries) {
    const ok = typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) {
      throw new InvalidInputError(
        `field ${JSON.stringify(field)} of a secret value is a ${typeof v}; only strings and finite numbers are stored`,
        {
          hint: 'flatten the value, or encode the field as a string',
        },
      );
    }
  }
  return Buffer.from(JSON.stringify(Object.fromEntries(entries)), 'utf8');
}

export function sameValue(a: SecretValue, b: SecretValue): boolean {
  const x = encodeValue(a);
  const y = encodeValue(b);
  const same = x.length === y.length && timingSafeEqual(x, y);
  x.fill(0);
  y.fill(0);
  return same;
}

export function sealValue(key: SealingKey, location: string, versionId: string, value: SecretValue): SealedValue {
  const plaintext = encodeValue(value);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadFor(location, versionId));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  return { ciphertext, nonce, authTag: cipher.getAuthTag(), keyId: key.keyId };
}

/**
 * Throws a PermanentError (retrying cannot help) when neither the key nor one of its previous keys
 * sealed the value, or the row was altered.
 */
export function openValue(sealing: SealingKey, location: string, versionId: string, sealed: SealedValue): SecretValue {
  const where = `version ${versionId} of ${location} in the local store`;
  const key = sealed.keyId === sealing.keyId ? sealing : sealing.previous?.find((p) => p.keyId === sealed.keyId);
  if (!key) {
    const previous = sealing.previous?.length
      ? ` (ROTOR_MASTER_KEY_PREVIOUS holds ${sealing.previous.map((p) => p.keyId).join(', ')})`
      : '';
    throw new WrongMasterKeyError(`${where} is encrypted with key ${sealed.keyId}, ${keyName(sealing)} is ${sealing.keyId}${previous}`, {
      hint: `use the master key whose id is ${sealed.keyId} (the first 8 hex characters of its sha256), or restore the key file it came from; during a key rotation, put the old key in ROTOR_MASTER_KEY_PREVIOUS`,
    });
  }
  let plaintext: Buffer;
  try {
    if (sealed.nonce.length !== NONCE_BYTES || sealed.authTag.length !== TAG_BYTES) throw new Error('nonce or tag has the wrong length');
    const decipher = createDecipheriv(ALGORITHM, key.key, sealed.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadFor(location, versionId));
    decipher.setAuthTag(sealed.authTag);
    plaintext = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch (err) {
    throw new PermanentError(
      `${where} failed its integrity check: its ciphertext, nonce or tag was altered, or the row was copied from another location or version`,
      { cause: err, hint: 'restore store_versions from a backup, or discard this version and rotate the secret again' },
    );
  }
  try {
    return decodeValue(plaintext, where);
  } finally {
    plaintext.fill(0);
  }
}

function decodeValue(plaintext: Buffer, where: string): SecretValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext.toString('utf8'));
  } catch {
    parsed = undefined; // the parser's message may quote the plaintext: never pass it on
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PermanentError(`${where} decrypted to something that is not a secret value`, { hint: 'rotate the secret again' });
  }
  encodeValue(parsed as SecretValue); // the same shape check as on the way in
  return Object.freeze(parsed as SecretValue);
}

function keyName(key: SealingKey): string {
  if (key.source === 'env') return 'ROTOR_MASTER_KEY';
  if (key.source === 'file') return `the key file${key.path ? ` ${key.path}` : ''}`;
  return 'the master key in use';
}
