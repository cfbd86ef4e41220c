// ACTIVE_STATES is the one list of active run states, but the migrations' partial indexes spell it
// out in SQL (a migration cannot import a constant): this holds the two together, so a state added
// to one and not the other fails here rather than breaking "one active run per secret".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../../src/state/migrate.js';
import { ACTIVE_IN, ACTIVE_STATES } from '../../../src/state/run-states.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('run-states');
  await migrate(db.pool);
});

afterAll(async () => {
  await db?.drop();
});

describe('the active run states', () => {
  it('are exactly the states of the partial indexes on active runs', async () => {
    const r = await db.pool.query<{ indexname: string; indexdef: string }>(
      'select indexname, indexdef from pg_indexes where indexname = any($1) order by indexname',
      [['runs_active', 'runs_active_emergency', 'runs_one_active_per_secret']],
    );
    expect(r.rows.map((i) => i.indexname)).toEqual(['runs_active', 'runs_active_emergency', 'runs_one_active_per_secret']);
    for (const { indexname, indexdef } of r.rows) {
      const where = indexdef.slice(indexdef.indexOf('WHERE'));
      const states = [...where.matchAll(/'([a-z-]+)'::text/g)].map((m) => m[1]).filter((s) => s !== 'emergency');
      expect(states, indexname).toEqual([...ACTIVE_STATES]);
    }
  });

  it('as SQL, select the one active run through the unique partial index', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('set enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `explain select id from runs where secret_id = 'x' and state in ${ACTIVE_IN}`,
      );
      expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('runs_one_active_per_secret');
    } finally {
      client.release();
    }
  });
});
