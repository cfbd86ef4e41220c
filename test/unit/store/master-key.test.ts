import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { DEFAULT_KEY_FILE, keyIdOf, loadMasterKey, parseMasterKey } from '../../../src/store/master-key.js';
import { rejectionOf } from '../../helpers/rejection.js';

const posix = process.platform !== 'win32';

describe('ROTOR_MASTER_KEY', () => {
  const key = randomBytes(32);

  it('accepts 32 bytes as base64, URL-safe base64 (padded or not) and hex of either case', async () => {
    const b64 = key.toString('base64');
    const url = key.toString('base64url');
    for (const text of [b64, b64.replace(/=$/, ''), url, `${url}=`, key.toString('hex'), key.toString('hex').toUpperCase(), ` ${b64}\n`]) {
      const loaded = await loadMasterKey({ env: { ROTOR_MASTER_KEY: text }, keyFile: '/nonexistent/never-read' });
      expect(loaded.key.equals(key)).toBe(true);
      expect(loaded.source).toBe('env');
    }
  });

  it('names a key by the first 8 hex characters of its sha256', async () => {
    const loaded = await loadMasterKey({ env: { ROTOR_MASTER_KEY: key.toString('base64') } });
    expect(loaded.keyId).toBe(createHash('sha256').update(key).digest('hex').slice(0, 8));
    expect(keyIdOf(key)).toBe(loaded.keyId);
  });

  it.each([
    ['a passphrase', 'correct horse battery staple'],
    ['31 bytes of base64', randomBytes(31).toString('base64')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['62 hex digits', randomBytes(31).toString('hex')],
    ['66 hex digits', randomBytes(33).toString('hex')],
    ['base64 with a stray character', `${key.toString('base64').slice(0, 42)}!=`],
    ['an empty string', ''],
  ])('refuses %s, says how to generate a key, and never echoes what it was given', async (_what, text) => {
    const err = await rejectionOf(loadMasterKey({ env: { ROTOR_MASTER_KEY: text } }), InvalidInputError);
    expect(err.message).toMatch(/^ROTOR_MASTER_KEY .*32 bytes, as base64 \(44 characters\) or hex \(64 characters\)/);
    expect(err.hint).toBe('generate one with: openssl rand -base64 32');
    if (text) expect(`${err.message} ${err.hint}`).not.toContain(text.trim());
  });

  it('is preferred to an existing key file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-key-'));
    try {
      const file = join(dir, 'master.key');
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
      const loaded = await loadMasterKey({ env: { ROTOR_MASTER_KEY: key.toString('hex') }, keyFile: file });
      expect(loaded.key.equals(key)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parseMasterKey names its source in the message', () => {
    expect(() => parseMasterKey('nope', 'the master key file /x/master.key')).toThrow(
      /^the master key file \/x\/master\.key is 4 characters/,
    );
  });
});

describe('the master key file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-key-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to .rotor/master.key', () => {
    expect(DEFAULT_KEY_FILE).toBe('.rotor/master.key');
  });

  it('is generated with mode 0600 (in a new directory) and read back as the same key', async () => {
    const file = join(dir, 'home', 'master.key');
    const first = await loadMasterKey({ env: {}, keyFile: file });
    expect(first).toMatchObject({ source: 'file', path: file, created: true });
    expect(first.key).toHaveLength(32);
    if (posix) {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'home')).mode & 0o077).toBe(0);
    }
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(first.key)).toBe(true);
    const again = await loadMasterKey({ env: {}, keyFile: file });
    expect(again).toMatchObject({ keyId: first.keyId, created: false });
    expect(again.key.equals(first.key)).toBe(true);
  });

  it('is created once when many processes start at the same moment, and leaves no temporary files', async () => {
    const file = join(dir, 'master.key');
    const loaded = await Promise.all(Array.from({ length: 12 }, () => loadMasterKey({ env: {}, keyFile: file })));
    expect(new Set(loaded.map((k) => k.keyId)).size).toBe(1);
    expect(loaded.filter((k) => k.created)).toHaveLength(1);
    expect(readdirSync(dir)).toEqual(['master.key']);
  });

  it.skipIf(!posix).each([0o644, 0o640, 0o604])('refuses a key file with mode %o and names the chmod to run', async (mode) => {
    const file = join(dir, 'master.key');
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`);
    chmodSync(file, mode);
    const err = await rejectionOf(loadMasterKey({ env: {}, keyFile: file }), InvalidInputError);
    expect(err.message).toContain(`has mode 0${mode.toString(8)}`);
    expect(err.hint).toContain(`chmod 600 ${file}`);
    chmodSync(file, 0o600);
    await expect(loadMasterKey({ env: {}, keyFile: file })).resolves.toMatchObject({ source: 'file' });
  });

  it('refuses a key file that does not hold a key, without quoting it', async () => {
    const file = join(dir, 'master.key');
    writeFileSync(file, 'hunter2-not-a-key\n', { mode: 0o600 });
    const err = await rejectionOf(loadMasterKey({ env: {}, keyFile: file }), InvalidInputError);
    expect(err.message).toContain(`the master key file ${file} is 17 characters`);
    expect(err.message).not.toContain('hunter2');
  });

  it('refuses a directory in place of the key file', async () => {
    const err = await rejectionOf(loadMasterKey({ env: {}, keyFile: dir }), InvalidInputError);
    expect(err.message).toContain('is not a regular file');
  });
});
