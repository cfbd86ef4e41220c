// Retention of run history through `rotor prune`, on a real PostgreSQL: old ended runs go with
// their steps and consumer records; each secret's newest run, active runs, recent runs and the
// audit trail stay; without --yes nothing is deleted; a too-short age is refused.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../../src/state/audit.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { rotor } from '../../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture } from '../engine/fixtures.js';

const DAY = 86_400_000;

describe('rotor prune', () => {
  let db: TestDatabase;
  const ids: Record<string, string> = {};
  const cli = (...args: string[]) => rotor(['prune', ...args], { ROTOR_DATABASE_URL: db.url });
  const count = async (table: string) => (await db.pool.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;
  const remaining = async () => (await db.pool.query<{ id: string }>('select id from runs')).rows.map((r) => r.id).sort();

  /** A run of `secret` created and ended `ageDays` ago, with two steps, a consumer record and audit rows. */
  async function run(name: string, secret: string, ageDays: number, state = 'done'): Promise<void> {
    const id = randomUUID();
    const at = new Date(Date.now() - ageDays * DAY);
    const ended = state === 'done' || state === 'needs-attention';
    await db.pool.query(
      `insert into runs (id, secret_id, trigger, actor, state, step, created_at, finished_at) values ($1, $2, 'schedule', 'test', $3, $4, $5, $6)`,
      [id, secret, state, ended ? 'finished' : 'create', at, ended ? at : null],
    );
    for (const step of ['create', 'verify-new'])
      await db.pool.query(`insert into steps (run_id, step, attempt, status) values ($1, $2, 1, 'succeeded')`, [id, step]);
    await db.pool.query(`insert into run_consumers (run_id, consumer, wave) values ($1, 'app', 1)`, [id]);
    await appendAudit(db.pool, { actor: 'test', action: 'run.done', secretId: secret, runId: id });
    ids[name] = id;
  }

  beforeAll(async () => {
    db = await createTestDatabase('prune');
    await migrate(db.pool);
    await syncSecrets(
      db.pool,
      ['p/a', 'p/b', 'p/c'].map((id) => secretFixture(id)),
      { actor: 'test', targetKeyOf: () => 'memory://t', nextDueOf: () => new Date() },
    );
    await run('a-old-1', 'p/a', 400);
    await run('a-old-2', 'p/a', 300, 'needs-attention');
    await run('a-recent', 'p/a', 10);
    await run('b-only', 'p/b', 500); // its secret's newest run: stays however old
    await run('c-old', 'p/c', 400);
    await run('c-active', 'p/c', 0, 'running');
  });
  afterAll(async () => db?.drop());

  it('refuses an age under a day, or no duration, changing nothing', async () => {
    for (const bad of [
      ['--older-than', '1h'],
      ['--older-than', 'soon'],
    ]) {
      const r = await cli(...bad);
      expect(r.code, bad.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/less than a day|is not a duration/);
    }
    expect((await remaining()).length).toBe(6);
  });

  it('without --yes only counts what would go', async () => {
    const r = await cli('--older-than', '180d');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('would delete 3 run(s)');
    expect(r.stdout).toContain('with 6 step record(s) and 3 consumer record(s)');
    expect((await remaining()).length).toBe(6);
  });

  it('with --yes deletes old ended runs with their records, keeps the rest and audits itself', async () => {
    const auditBefore = await count('audit');
    const r = await cli('--older-than', '180d', '--yes', '--actor', 'cli:ops');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deleted 3 run(s)');
    expect(await remaining()).toEqual([ids['a-recent']!, ids['b-only']!, ids['c-active']!].sort());
    expect(await count('steps')).toBe(6);
    expect(await count('run_consumers')).toBe(3);
    // The audit trail keeps every row, the pruned runs' included, plus one for the pruning.
    expect(await count('audit')).toBe(auditBefore + 1);
    const last = (
      await db.pool.query<{ actor: string; action: string; detail: Record<string, number> }>(
        'select actor, action, detail from audit order by id desc limit 1',
      )
    ).rows[0]!;
    expect(last).toMatchObject({ actor: 'cli:ops', action: 'runs.pruned', detail: { runs: 3, steps: 6, consumers: 3 } });
    const again = await cli('--older-than', '180d', '--yes');
    expect(again.stdout).toContain('deleted 0 run(s)');
  });
});
