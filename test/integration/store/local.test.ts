// The local store against a real PostgreSQL: the stage lifecycle of the AWS model, idempotency of
// every call, refusals, and what the table holds (ciphertext only).
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, PermanentError } from '../../../src/errors.js';
import type { SecretValue } from '../../../src/rotator/contract.js';
import type { SecretStore, Stage } from '../../../src/store/contract.js';
import { listMigrations, migrate } from '../../../src/state/migrate.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { keyIdOf } from '../../../src/store/master-key.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { rejectionOf } from '../../helpers/rejection.js';

const MIGRATION = new URL('../../../src/state/migrations/0002_local_store.sql', import.meta.url);

let db: TestDatabase;
let store: SecretStore;
const key = randomBytes(32);

beforeAll(async () => {
  db = await createTestDatabase('local store');
  await db.pool.query(readFileSync(MIGRATION, 'utf8'));
  store = createLocalStore({ pool: db.pool, key: { key, keyId: keyIdOf(key), source: 'env' } });
});
afterAll(async () => {
  await db?.drop();
});

/** A value whose password is unique to the test, so a leak points at the test that caused it. */
const cred = (tag: string): SecretValue => ({ username: 'app_a', password: `pw-${tag}-${randomUUID()}` });
const newLocation = (): string => `test/${randomUUID()}`;

/** versionId → stages, the whole picture of one location. */
async function stagesOf(location: string): Promise<Record<string, Stage[]>> {
  return Object.fromEntries((await store.describe(location)).map((v) => [v.versionId, v.stages]));
}

describe('the local store lifecycle', () => {
  it('stages, promotes, and moves PREVIOUS along over two rotations', async () => {
    const loc = newLocation();
    const [v1, v2, v3] = [cred('v1'), cred('v2'), cred('v3')];
    expect(await store.get(loc, 'CURRENT')).toBeNull();

    await store.putPending(loc, 'v1', v1);
    expect(await store.get(loc, 'PENDING')).toEqual({ versionId: 'v1', value: v1 });
    expect(await store.get(loc, 'CURRENT')).toBeNull();
    await store.promote(loc, 'v1');
    expect(await stagesOf(loc)).toEqual({ v1: ['CURRENT'] });
    expect(await store.get(loc, 'PENDING')).toBeNull();

    await store.putPending(loc, 'v2', v2);
    expect(await stagesOf(loc)).toEqual({ v1: ['CURRENT'], v2: ['PENDING'] });
    await store.promote(loc, 'v2');
    expect(await stagesOf(loc)).toEqual({ v1: ['PREVIOUS'], v2: ['CURRENT'] });
    expect(await store.get(loc, 'CURRENT')).toEqual({ versionId: 'v2', value: v2 });
    expect(await store.get(loc, 'PREVIOUS')).toEqual({ versionId: 'v1', value: v1 });

    await store.putPending(loc, 'v3', v3);
    await store.promote(loc, 'v3');
    expect(await stagesOf(loc)).toEqual({ v1: [], v2: ['PREVIOUS'], v3: ['CURRENT'] });
    // A version with no stage is still readable by id (a run resuming its rollback needs it).
    expect(await store.getVersion(loc, 'v1')).toEqual({ versionId: 'v1', value: v1 });
  });

  it('describes versions newest first with their stages and creation time, never a value', async () => {
    const loc = newLocation();
    const v1 = cred('describe');
    await store.putPending(loc, 'v1', v1);
    await store.promote(loc, 'v1');
    await store.putPending(loc, 'v2', cred('describe2'));
    const info = await store.describe(loc);
    expect(info.map((v) => [v.versionId, v.stages])).toEqual([
      ['v2', ['PENDING']],
      ['v1', ['CURRENT']],
    ]);
    for (const v of info) expect(v.createdAt).toBeInstanceOf(Date);
    expect(JSON.stringify(info)).not.toContain('pw-');
    expect(Object.keys(info[0] ?? {}).sort()).toEqual(['createdAt', 'stages', 'versionId']);
    expect(await store.describe(newLocation())).toEqual([]);
  });

  it('keeps PREVIOUS readable until clearPrevious', async () => {
    const loc = newLocation();
    await store.putPending(loc, 'v1', cred('a'));
    await store.promote(loc, 'v1');
    await store.putPending(loc, 'v2', cred('b'));
    await store.promote(loc, 'v2');
    expect((await store.get(loc, 'PREVIOUS'))?.versionId).toBe('v1');
    await store.clearPrevious(loc);
    expect(await store.get(loc, 'PREVIOUS')).toBeNull();
    expect(await stagesOf(loc)).toEqual({ v1: [], v2: ['CURRENT'] });
  });

  it('rolls back by promoting PREVIOUS: the two swap, and doing it again changes nothing', async () => {
    const loc = newLocation();
    const [old, next] = [cred('old'), cred('new')];
    await store.putPending(loc, 'old', old);
    await store.promote(loc, 'old');
    await store.putPending(loc, 'new', next);
    await store.promote(loc, 'new');
    await store.promote(loc, 'old');
    expect(await stagesOf(loc)).toEqual({ old: ['CURRENT'], new: ['PREVIOUS'] });
    expect(await store.get(loc, 'CURRENT')).toEqual({ versionId: 'old', value: old });
    await store.promote(loc, 'old');
    expect(await stagesOf(loc)).toEqual({ old: ['CURRENT'], new: ['PREVIOUS'] });
  });
});

describe('idempotency', () => {
  it('ignores putPending again with the same version and value (in any key order), even after promote', async () => {
    const loc = newLocation();
    const value = { username: 'app_a', password: `pw-same-${randomUUID()}`, port: 5432 };
    await store.putPending(loc, 'v1', value);
    await store.putPending(loc, 'v1', { port: 5432, password: value.password, username: 'app_a' });
    expect(await stagesOf(loc)).toEqual({ v1: ['PENDING'] });
    await store.promote(loc, 'v1');
    await store.putPending(loc, 'v1', value);
    expect(await stagesOf(loc)).toEqual({ v1: ['CURRENT'] });
  });

  it('refuses putPending of a known version with another value, without quoting either value', async () => {
    const loc = newLocation();
    const [first, second] = [cred('first'), cred('second')];
    await store.putPending(loc, 'v1', first);
    const err = await rejectionOf(store.putPending(loc, 'v1', second));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain(`version v1 of ${loc} already exists in the local store with a different value`);
    for (const text of [err.message, err.hint, err.stack]) {
      expect(text).not.toContain(String(first.password));
      expect(text).not.toContain(String(second.password));
    }
    expect(await store.get(loc, 'PENDING')).toEqual({ versionId: 'v1', value: first });
  });

  it('makes promote, discardPending and clearPrevious no-ops when repeated', async () => {
    const loc = newLocation();
    await store.putPending(loc, 'v1', cred('1'));
    await store.promote(loc, 'v1');
    await store.putPending(loc, 'v2', cred('2'));
    await store.promote(loc, 'v2');
    await store.promote(loc, 'v2');
    expect(await stagesOf(loc)).toEqual({ v1: ['PREVIOUS'], v2: ['CURRENT'] });

    await store.putPending(loc, 'v3', cred('3'));
    await store.discardPending(loc, 'v3');
    await store.discardPending(loc, 'v3');
    await store.discardPending(loc, 'never-staged');
    await store.discardPending(newLocation(), 'v1');
    expect(await stagesOf(loc)).toEqual({ v1: ['PREVIOUS'], v2: ['CURRENT'], v3: [] });

    await store.clearPrevious(loc);
    await store.clearPrevious(loc);
    await store.clearPrevious(newLocation());
    expect(await stagesOf(loc)).toEqual({ v1: [], v2: ['CURRENT'], v3: [] });
  });
});

describe('refusals', () => {
  it('refuses putPending while another version is PENDING, names it and how to clear it', async () => {
    const loc = newLocation();
    await store.putPending(loc, 'run-a-1', cred('a'));
    const err = await rejectionOf(store.putPending(loc, 'run-b-1', cred('b')));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain(`${loc} already has a PENDING version, run-a-1`);
    expect(err.hint).toContain(`rotor repair ${loc}`);
    await store.discardPending(loc, 'run-a-1');
    await store.putPending(loc, 'run-b-1', cred('b'));
    expect((await store.get(loc, 'PENDING'))?.versionId).toBe('run-b-1');
  });

  it('refuses to promote a version that does not exist', async () => {
    const loc = newLocation();
    await expect(store.promote(loc, 'nope')).rejects.toBeInstanceOf(NotFoundError);
    await store.putPending(loc, 'v1', cred('x'));
    await expect(store.promote(loc, 'nope')).rejects.toThrow(`${loc} has no version nope`);
    expect(await stagesOf(loc)).toEqual({ v1: ['PENDING'] });
  });

  it('names both key ids when read with another master key', async () => {
    const loc = newLocation();
    await store.putPending(loc, 'v1', cred('k'));
    const other = randomBytes(32);
    const wrong = createLocalStore({ pool: db.pool, key: { key: other, keyId: keyIdOf(other), source: 'env' } });
    await expect(wrong.get(loc, 'PENDING')).rejects.toThrow(
      `version v1 of ${loc} in the local store is encrypted with key ${keyIdOf(key)}, ROTOR_MASTER_KEY is ${keyIdOf(other)}`,
    );
    // And it cannot stage over it either: comparing the values needs the right key.
    await expect(wrong.putPending(loc, 'v1', cred('k'))).rejects.toThrow(/encrypted with key/);
  });

  it('refuses a row whose sealed columns were copied from another version', async () => {
    const loc = newLocation();
    await store.putPending(loc, 'v1', cred('swap1'));
    await store.promote(loc, 'v1');
    await store.putPending(loc, 'v2', cred('swap2'));
    await db.pool.query(
      `update store_versions t set ciphertext = s.ciphertext, nonce = s.nonce, auth_tag = s.auth_tag
       from store_versions s where t.location = $1 and s.location = $1 and t.version_id = 'v2' and s.version_id = 'v1'`,
      [loc],
    );
    await expect(store.get(loc, 'PENDING')).rejects.toThrow(/version v2 of .* failed its integrity check/);
    expect((await store.get(loc, 'CURRENT'))?.versionId).toBe('v1');
  });

  it('is backed by the database: a second CURRENT is refused even when written behind the store', async () => {
    const loc = newLocation();
    await store.putPending(loc, 'v1', cred('c1'));
    await store.promote(loc, 'v1');
    await store.putPending(loc, 'v2', cred('c2'));
    await expect(
      db.pool.query("update store_versions set stages = array['CURRENT'] where location = $1 and version_id = 'v2'", [loc]),
    ).rejects.toThrow(/store_versions_one_current/);
  });
});

describe('pruning', () => {
  it('keeps the newest stageless versions for audit and never deletes one that holds a stage', async () => {
    const loc = newLocation();
    const small = createLocalStore({ pool: db.pool, key, keepUnstaged: 2 });
    for (let i = 1; i <= 8; i++) {
      await small.putPending(loc, `v${i}`, cred(`p${i}`));
      await small.promote(loc, `v${i}`);
    }
    await small.putPending(loc, 'v9', cred('p9'));
    // v8 CURRENT, v7 PREVIOUS, v9 PENDING; of the stageless v1..v6 the newest two remain.
    expect(await stagesOf(loc)).toEqual({ v9: ['PENDING'], v8: ['CURRENT'], v7: ['PREVIOUS'], v6: [], v5: [] });
  });
});

describe('the migration', () => {
  it('applies through the migration runner, in order after the ones before it', async () => {
    const fresh = await createTestDatabase('local store migrate');
    try {
      const applied = await migrate(fresh.pool);
      expect(applied).toContain('0002_local_store.sql');
      expect(applied).toEqual(listMigrations().map((m) => m.name));
      const s = createLocalStore({ pool: fresh.pool, key });
      await s.putPending('payments/db', 'v1', cred('migrated'));
      await s.promote('payments/db', 'v1');
      expect((await s.get('payments/db', 'CURRENT'))?.versionId).toBe('v1');
    } finally {
      await fresh.drop();
    }
  });
});
