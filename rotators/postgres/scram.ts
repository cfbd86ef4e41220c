// SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) in the form PostgreSQL keeps in pg_authid, built
// client-side so that a cleartext password never reaches the server, its statements or its log.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { isPrintableAscii } from '../../src/rotator/password.js';

/** PostgreSQL's default (scram_iterations). */
export const SCRAM_ITERATIONS = 4096;
/** PostgreSQL's salt length. */
export const SCRAM_SALT_BYTES = 16;

const PREFIX = 'SCRAM-SHA-256';
const VERIFIER_PATTERN = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

export interface ScramSecret {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export interface VerifierOptions {
  /** @defaultValue 16 random bytes */
  salt?: Buffer;
  /** @defaultValue 4096 */
  iterations?: number;
}

/**
 * StoredKey and ServerKey for a password (RFC 5802, section 3):
 * SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i); ClientKey = HMAC(SaltedPassword, "Client Key");
 * StoredKey = SHA-256(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key").
 */
export function scramSecret(password: string, salt: Buffer, iterations: number): ScramSecret {
  // Passwords are SASLprep'ed before hashing; for printable ASCII that is the identity, and for
  // anything else we would have to implement it, so anything else is refused instead.
  if (!isPrintableAscii(password)) {
    throw new Error('cannot build a SCRAM verifier for a password with characters outside printable ASCII');
  }
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`invalid SCRAM iteration count ${iterations}`);
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return { iterations, salt, storedKey: createHash('sha256').update(clientKey).digest(), serverKey: hmac(salted, 'Server Key') };
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, all base64: what ALTER ROLE stores as is. */
export function scramVerifier(password: string, opts: VerifierOptions = {}): string {
  const secret = scramSecret(password, opts.salt ?? randomBytes(SCRAM_SALT_BYTES), opts.iterations ?? SCRAM_ITERATIONS);
  return formatVerifier(secret);
}

export function formatVerifier(s: ScramSecret): string {
  const b64 = (b: Buffer) => b.toString('base64');
  return `${PREFIX}$${s.iterations}:${b64(s.salt)}$${b64(s.storedKey)}:${b64(s.serverKey)}`;
}

/** The parts of a verifier, or null when the text is not one (an MD5 hash, a cleartext, NULL). */
export function parseVerifier(text: string | null | undefined): ScramSecret | null {
  const m = text ? VERIFIER_PATTERN.exec(text) : null;
  if (!m) return null;
  const [, iterations, salt, storedKey, serverKey] = m as unknown as [string, string, string, string, string];
  const secret = {
    iterations: Number(iterations),
    salt: Buffer.from(salt, 'base64'),
    storedKey: Buffer.from(storedKey, 'base64'),
    serverKey: Buffer.from(serverKey, 'base64'),
  };
  return secret.storedKey.length === 32 && secret.serverKey.length === 32 ? secret : null;
}

/** True when `password` is the one `verifier` was built from (recomputes with its salt and count). */
export function verifierMatches(verifier: string, password: string): boolean {
  const parsed = parseVerifier(verifier);
  if (!parsed || !isPrintableAscii(password)) return false;
  const again = scramSecret(password, parsed.salt, parsed.iterations);
  return timingSafeEqual(again.storedKey, parsed.storedKey) && timingSafeEqual(again.serverKey, parsed.serverKey);
}

function hmac(key: Buffer, text: string | Buffer): Buffer {
  return createHmac('sha256', key).update(text).digest();
}
