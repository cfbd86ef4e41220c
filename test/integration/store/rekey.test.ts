// A master key rotation of the local store on a real PostgreSQL, through `rotor rekey` as an
// operator runs it: old versions stay readable with the old key in ROTOR_MASTER_KEY_PREVIOUS, rekey
// seals them all with the new key, and afterwards the old key is not needed (nor accepted).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/errors.js';
import { migrate } from '../../../src/state/migrate.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { keyIdOf, loadMasterKey } from '../../../src/store/master-key.js';
import { rotor } from '../../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { rejectionOf } from '../../helpers/rejection.js';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const strangerKey = randomBytes(32);
const b64 = (k: Buffer) => k.toString('base64');
const value = (i: number) => ({ username: `app_${i}`, password: `pw-${i}-${randomBytes(12).toString('hex')}` });

describe('rotating the master key of the local store', () => {
  let db: TestDatabase;
  const written = new Map<string, { versionId: string; value: Record<string, string> }>();
  const cli = (env: Record<string, string>) =>
    rotor(['rekey'], { ROTOR_DATABASE_URL: db.url, ROTOR_HOME: '/nonexistent-rotor-home', ...env });
  const keyIds = async () =>
    (await db.pool.query<{ key_id: string; n: number }>('select key_id, count(*)::int as n from store_versions group by key_id')).rows;

  async function writeWith(store: SecretStore, from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      const location = `rekey/s${i}`;
      const versionId = `v${i}`;
      const v = value(i);
      await store.putPending(location, versionId, v);
      await store.promote(location, versionId);
      written.set(location, { versionId, value: v });
    }
  }

  async function expectAllReadable(store: SecretStore): Promise<void> {
    for (const [location, w] of written) expect(await store.get(location, 'CURRENT')).toEqual({ versionId: w.versionId, value: w.value });
  }

  beforeAll(async () => {
    db = await createTestDatabase('rekey');
    await migrate(db.pool);
    await writeWith(createLocalStore({ pool: db.pool, key: oldKey }), 0, 250); // more than one batch
  });
  afterAll(async () => db?.drop());

  it('reads old versions with the previous key, writes new ones with the new key', async () => {
    const key = await loadMasterKey({
      env: { ROTOR_MASTER_KEY: b64(newKey), ROTOR_MASTER_KEY_PREVIOUS: `${b64(strangerKey)}, ${oldKey.toString('hex')}` },
    });
    expect(key.previous?.map((k) => k.keyId)).toEqual([keyIdOf(strangerKey), keyIdOf(oldKey)]);
    const store = createLocalStore({ pool: db.pool, key });
    await writeWith(store, 250, 260);
    await expectAllReadable(store);
    expect(Object.fromEntries((await keyIds()).map((r) => [r.key_id, r.n]))).toEqual({ [keyIdOf(oldKey)]: 250, [keyIdOf(newKey)]: 10 });
    // Without the previous key, an old version names both ids and how to fix it.
    const err = await rejectionOf(createLocalStore({ pool: db.pool, key: newKey }).get('rekey/s0', 'CURRENT'), PermanentError);
    expect(err.message).toContain(`is encrypted with key ${keyIdOf(oldKey)}`);
    expect(err.hint).toContain('ROTOR_MASTER_KEY_PREVIOUS');
  });

  it('refuses, changing nothing, when a version is sealed with a key it was not given', async () => {
    const before = await db.pool.query('select location, version_id, ciphertext from store_versions order by 1, 2');
    const r = await cli({ ROTOR_MASTER_KEY: b64(newKey) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`key ${keyIdOf(oldKey)} (250)`);
    expect(r.stderr).toContain('nothing was changed');
    expect((await db.pool.query('select location, version_id, ciphertext from store_versions order by 1, 2')).rows).toEqual(before.rows);
  });

  it('seals every version with the new key; the old key is then neither needed nor enough', async () => {
    const r = await cli({ ROTOR_MASTER_KEY: b64(newKey), ROTOR_MASTER_KEY_PREVIOUS: b64(oldKey) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`sealed 250 version(s) again with key ${keyIdOf(newKey)} (from ${keyIdOf(oldKey)}: 250); 10 already were`);
    expect(r.stdout).toContain('remove it from every rotor process');
    expect(await keyIds()).toEqual([{ key_id: keyIdOf(newKey), n: 260 }]);
    await expectAllReadable(createLocalStore({ pool: db.pool, key: newKey }));
    await expect(createLocalStore({ pool: db.pool, key: oldKey }).get('rekey/s0', 'CURRENT')).rejects.toThrow(PermanentError);
    // No value, and neither key, in what the command printed.
    for (const w of written.values()) expect(r.stdout).not.toContain(w.value.password);
    for (const k of [oldKey, newKey]) expect(r.stdout).not.toContain(b64(k));
    const again = await cli({ ROTOR_MASTER_KEY: b64(newKey) });
    expect(again.stdout).toContain('every version (260) is already sealed with key');
    expect(again.code).toBe(0);
  });

  it('refuses to run with no key at all rather than generate one', async () => {
    expect(process.env.ROTOR_MASTER_KEY).toBeUndefined();
    const r = await cli({});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no master key');
  });
});
