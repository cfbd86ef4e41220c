// The local store's master key: from ROTOR_MASTER_KEY, or a generated key file for the embedded default.
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidInputError } from '../errors.js';

/** AES-256 needs exactly this many bytes. */
export const MASTER_KEY_BYTES = 32;
/** Where the embedded default keeps its generated key (relative to the working directory). */
export const DEFAULT_KEY_FILE = '.rotor/master.key';

const GENERATE_HINT = 'generate one with: openssl rand -base64 32';

/** The key file the embedded default generates in a rotor home (ROTOR_HOME). */
export function keyFileIn(rotorHome: string): string {
  return join(rotorHome, 'master.key');
}

/**
 * Whether there is a master key to read (ROTOR_MASTER_KEY set, or the key file present) without
 * loadMasterKey generating one: commands that only read or re-seal must not create a key.
 */
export function masterKeyPresent(env: Readonly<Record<string, string | undefined>>, rotorHome: string): boolean {
  return env.ROTOR_MASTER_KEY !== undefined || existsSync(keyFileIn(rotorHome));
}

export interface MasterKey {
  key: Buffer;
  /** First 8 hex characters of sha256(key): stored with every row, safe to print. */
  keyId: string;
  source: 'env' | 'file';
  /** The key file, when source is 'file'. */
  path?: string;
  /** True when this call generated the key file: the operator should back it up. */
  created?: boolean;
  /**
   * Keys from ROTOR_MASTER_KEY_PREVIOUS: versions sealed with them can still be opened, new ones are
   * sealed with `key` only, and `rotor rekey` moves the old ones over. Empty when unset.
   */
  previous?: MasterKey[];
}

export interface LoadMasterKeyOptions {
  /** Usually process.env; only ROTOR_MASTER_KEY is read. */
  env: Readonly<Record<string, string | undefined>>;
  /** Used (and generated when missing) only when ROTOR_MASTER_KEY is unset. @defaultValue DEFAULT_KEY_FILE */
  keyFile?: string;
}

/** Safe to print and to store: a key cannot be recovered from 32 bits of its hash. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Decodes a 32-byte key written as hex (64 characters) or base64 (standard or URL-safe, padding
 * optional). Anything else is refused rather than stretched or truncated: a typo must not quietly
 * become a different key. `where` names the source in the message; the text itself never appears.
 */
export function parseMasterKey(text: string, where: string): Buffer {
  const t = text.trim();
  // Hex first: 64 hex digits are also valid base64 characters (and would decode to 48 bytes).
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(t) || /^[A-Za-z0-9_-]{43}=?$/.test(t)) {
    const key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === MASTER_KEY_BYTES) return key;
  }
  const what = t.length === 0 ? 'is empty' : `is ${t.length} characters that do not decode to 32 bytes`;
  throw new InvalidInputError(`${where} ${what}: a master key is 32 bytes, as base64 (44 characters) or hex (64 characters)`, {
    hint: GENERATE_HINT,
  });
}

/**
 * ROTOR_MASTER_KEY wins when set (even when a key file exists); otherwise the key file is read, or
 * generated when it does not exist yet.
 */
export async function loadMasterKey(opts: LoadMasterKeyOptions): Promise<MasterKey> {
  const current = await loadCurrentKey(opts);
  const previous = previousKeys(opts.env).filter((k) => k.keyId !== current.keyId);
  return { ...current, previous };
}

/**
 * ROTOR_MASTER_KEY_PREVIOUS: the keys a master key rotation moves away from, separated by commas or
 * white space, each written as ROTOR_MASTER_KEY is.
 */
export function previousKeys(env: Readonly<Record<string, string | undefined>>): MasterKey[] {
  const text = env.ROTOR_MASTER_KEY_PREVIOUS;
  if (text === undefined || text.trim() === '') return [];
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((t, i) => {
      const key = parseMasterKey(t, `ROTOR_MASTER_KEY_PREVIOUS (key ${i + 1})`);
      return { key, keyId: keyIdOf(key), source: 'env' as const };
    });
}

async function loadCurrentKey(opts: LoadMasterKeyOptions): Promise<MasterKey> {
  const fromEnv = opts.env.ROTOR_MASTER_KEY;
  // Set-but-empty is refused, not treated as unset: `ROTOR_MASTER_KEY=$(cat missing-file)` must not
  // silently fall back to a different key and encrypt new versions with it.
  if (fromEnv !== undefined) {
    const key = parseMasterKey(fromEnv, 'ROTOR_MASTER_KEY');
    return { key, keyId: keyIdOf(key), source: 'env' };
  }
  const path = opts.keyFile ?? DEFAULT_KEY_FILE;
  const existing = await readKeyFile(path);
  if (existing) return { key: existing, keyId: keyIdOf(existing), source: 'file', path, created: false };
  return createKeyFile(path);
}

/** Returns null when the file does not exist. */
async function readKeyFile(path: string): Promise<Buffer | null> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InvalidInputError(`cannot open the master key file ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: 'check its owner and permissions (rotor must be able to read it), or set ROTOR_MASTER_KEY',
    });
  }
  try {
    // fstat on the open descriptor: the file checked is the file read, even if the path is swapped.
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new InvalidInputError(`the master key file ${path} is not a regular file`, {
        hint: 'point ROTOR_HOME elsewhere, or set ROTOR_MASTER_KEY',
      });
    }
    // Modes mean nothing on Windows; everywhere else a key others can read is a key others have.
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new InvalidInputError(`the master key file ${path} has mode ${mode}: group or others can read it, so rotor will not use it`, {
        hint: `run: chmod 600 ${path}  (if someone else may have read it, rotate the secrets it protects)`,
      });
    }
    return parseMasterKey(await fh.readFile('utf8'), `the master key file ${path}`);
  } finally {
    await fh.close();
  }
}

/**
 * Writes a fresh key to a temporary file (mode 0600, fsynced), then publishes it with link(), which,
 * unlike rename(), never replaces an existing file: when two processes start at once, one key wins
 * and the loser reads it, instead of each encrypting with a key the other overwrote.
 */
async function createKeyFile(path: string): Promise<MasterKey> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(MASTER_KEY_BYTES);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let created = false;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.chmod(0o600); // the umask may only have narrowed it, but be exact
      await fh.writeFile(`${key.toString('base64')}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, path);
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError(`cannot create the master key file ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: `make ${dir} writable by rotor, or set ROTOR_MASTER_KEY (${GENERATE_HINT})`,
    });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  if (!created) {
    key.fill(0);
    const winner = await readKeyFile(path);
    if (!winner)
      throw new InvalidInputError(`the master key file ${path} vanished while rotor was creating it`, { hint: 'start rotor again' });
    return { key: winner, keyId: keyIdOf(winner), source: 'file', path, created: false };
  }
  await syncDirectory(dir);
  return { key, keyId: keyIdOf(key), source: 'file', path, created: true };
}

/** Makes the new directory entry durable: a key lost in a crash takes every stored secret with it. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not every platform can fsync a directory (Windows); the file itself is already synced.
  }
}
