// The local store's two hard guarantees on a real PostgreSQL: one version per stage however many
// workers call it at once, and nothing in store_versions that reveals a value.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/errors.js';
import type { SecretValue } from '../../../src/rotator/contract.js';
import type { SecretStore, Stage } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

const MIGRATION = new URL('../../../src/state/migrations/0002_local_store.sql', import.meta.url);
const key = randomBytes(32);

let db: TestDatabase;
/** Two workers: separate pools, as two processes would have, with enough connections for 20 calls. */
let workers: [SecretStore, SecretStore];
const extraPools: pg.Pool[] = [];

beforeAll(async () => {
  db = await createTestDatabase('local store guarantees');
  await db.pool.query(readFileSync(MIGRATION, 'utf8'));
  const pools = [0, 1].map(() => new pg.Pool({ connectionString: db.url, max: 10 }));
  extraPools.push(...pools);
  // Open every connection now: connecting (scram) is slow enough to serialize a burst of calls by
  // itself, which would hide a missing lock.
  await Promise.all(
    pools.map(async (p) => {
      const clients = await Promise.all(Array.from({ length: 10 }, () => p.connect()));
      for (const c of clients) c.release();
    }),
  );
  // keepUnstaged: the promote test needs all 20 versions it made to still exist.
  workers = [createLocalStore({ pool: pools[0]!, key, keepUnstaged: 100 }), createLocalStore({ pool: pools[1]!, key, keepUnstaged: 100 })];
});
afterAll(async () => {
  await Promise.all(extraPools.map((p) => p.end()));
  await db?.drop();
});

const cred = (tag: string): SecretValue => ({ username: `user-${tag}`, password: `pw-${tag}-${randomUUID()}` });

/** How many versions of the location hold each stage, straight from the table. */
async function holders(location: string): Promise<Record<Stage, string[]>> {
  const { rows } = await db.pool.query<{ version_id: string; stages: Stage[] }>(
    'select version_id, stages from store_versions where location = $1',
    [location],
  );
  const of = (s: Stage): string[] => rows.filter((r) => r.stages.includes(s)).map((r) => r.version_id);
  return { CURRENT: of('CURRENT'), PENDING: of('PENDING'), PREVIOUS: of('PREVIOUS') };
}

const worker = (i: number): SecretStore => workers[i % 2]!;

describe('concurrent calls on one location', () => {
  it('lets exactly one of 20 simultaneous putPending calls stage, and refuses the rest clearly', async () => {
    const loc = `conc/${randomUUID()}`;
    // An existing location: a brand-new one would be serialized by its row's insert alone.
    await worker(0).putPending(loc, 'base', cred('base'));
    await worker(0).promote(loc, 'base');
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => worker(i).putPending(loc, `run-${i}`, cred(`p${i}`))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') {
        // Refused by the store's own check under the lock, not by a unique-index violation.
        expect(r.reason).toBeInstanceOf(PermanentError);
        expect((r.reason as Error).message).toContain('already has a PENDING version');
      }
    }
    expect((await holders(loc)).PENDING).toHaveLength(1);
  });

  it('leaves exactly one CURRENT after 20 simultaneous promotes of 20 different versions', async () => {
    const loc = `conc/${randomUUID()}`;
    for (let i = 0; i < 20; i++) {
      await worker(i).putPending(loc, `v${i}`, cred(`v${i}`));
      await worker(i).promote(loc, `v${i}`);
    }
    // Every promote succeeds: they wait for each other on the location's lock, none trips the index.
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => worker(i).promote(loc, `v${i}`)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill('fulfilled'));
    const h = await holders(loc);
    expect(h.CURRENT).toHaveLength(1);
    expect(h.PREVIOUS).toHaveLength(1);
    expect(h.PENDING).toHaveLength(0);
  });

  it('keeps one version per stage through 20 simultaneous mixed putPending / promote / discard calls, repeatedly', async () => {
    for (let round = 0; round < 5; round++) {
      const loc = `conc/${randomUUID()}`;
      await worker(0).putPending(loc, 'base', cred('base'));
      await worker(0).promote(loc, 'base');
      await worker(1).putPending(loc, 'staged', cred('staged'));
      const calls = Array.from({ length: 20 }, (_, i) => {
        const w = worker(i + round);
        switch (i % 4) {
          case 0:
            return w.putPending(loc, `new-${i}`, cred(`n${i}`));
          case 1:
            return w.promote(loc, i % 8 === 1 ? 'staged' : 'base');
          case 2:
            return w.discardPending(loc, 'staged');
          default:
            return w.clearPrevious(loc);
        }
      });
      const results = await Promise.allSettled(calls);
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as Error).message).toContain('already has a PENDING version');
      }
      const h = await holders(loc);
      expect(h.CURRENT).toHaveLength(1);
      expect(h.PENDING.length).toBeLessThanOrEqual(1);
      expect(h.PREVIOUS.length).toBeLessThanOrEqual(1);
      expect(['base', 'staged']).toContain(h.CURRENT[0]);
    }
  });
});

describe('at rest', () => {
  it('holds no plaintext in any column of store_versions, in any common encoding', async () => {
    const loc = `rest/${randomUUID()}`;
    const values = [cred('rest1'), cred('rest2'), { apiKey: `key-${randomUUID()}`, note: `note-${randomUUID()}` }];
    await worker(0).putPending(loc, 'v1', values[0]!);
    await worker(0).promote(loc, 'v1');
    await worker(1).putPending(loc, 'v2', values[1]!);
    await worker(1).promote(loc, 'v2');
    await worker(0).putPending(loc, 'v3', values[2]!);

    const needles = values.flatMap((v) => Object.values(v).map(String));
    const forms = needles.flatMap((n) => {
      const b = Buffer.from(n, 'utf8');
      return [n, b.toString('hex'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url').replace(/=+$/, '')];
    });
    const { rows, fields } = await db.pool.query<Record<string, unknown>>('select * from store_versions where location = $1', [loc]);
    expect(rows).toHaveLength(3);
    expect(fields.map((f) => f.name).sort()).toEqual(
      ['auth_tag', 'ciphertext', 'created_at', 'key_id', 'location', 'nonce', 'stages', 'version_id'].sort(),
    );
    for (const row of rows) {
      for (const [column, cell] of Object.entries(row)) {
        const bytes = Buffer.isBuffer(cell) ? cell : Buffer.from(JSON.stringify(cell), 'utf8');
        for (const form of forms) expect(bytes.includes(form), `${column} contains a value`).toBe(false);
      }
    }
    // The rows as PostgreSQL itself prints them (bytea as \x hex), and the location table too.
    const text = await db.pool.query<{ t: string }>(
      `select t::text as t from store_versions t where location = $1
       union all select l::text from store_locations l where location = $1`,
      [loc],
    );
    const dump = text.rows
      .map((r) => r.t)
      .join('\n')
      .toLowerCase();
    for (const form of forms) expect(dump.includes(form.toLowerCase())).toBe(false);
    // And every value is still there, under the key.
    expect((await worker(1).get(loc, 'PENDING'))?.value).toEqual(values[2]);
  });
});
