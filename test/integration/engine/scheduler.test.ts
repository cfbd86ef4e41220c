import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { RUNS_QUEUE } from '../../../src/queue/names.js';
import { runTick } from '../../../src/engine/scheduler.js';
import { migrate } from '../../../src/state/migrate.js';
import { deferAfterFailure, syncSecrets } from '../../../src/state/secrets.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture } from './fixtures.js';

describe('the scheduler tick', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  const now = new Date();

  beforeAll(async () => {
    db = await createTestDatabase('tick');
    await migrate(db.pool);
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    const due: Record<string, { target: string; dueAt: Date }> = {
      'a/one': { target: 'pg://shared', dueAt: new Date(now.getTime() - 60_000) },
      'a/two': { target: 'pg://shared', dueAt: new Date(now.getTime() - 50_000) },
      'a/three': { target: 'pg://shared', dueAt: new Date(now.getTime() - 40_000) },
      'b/only': { target: 'pg://other', dueAt: new Date(now.getTime() - 30_000) },
      'c/later': { target: 'pg://other', dueAt: new Date(now.getTime() + 3_600_000) },
      'd/stale': { target: 'pg://third', dueAt: new Date(now.getTime() - 2 * 3_600_000) },
    };
    await syncSecrets(
      db.pool,
      Object.keys(due).map((id) => secretFixture(id)),
      {
        actor: 'test',
        targetKeyOf: (s) => due[s.id]!.target,
        nextDueOf: (s) => due[s.id]!.dueAt,
      },
    );
  });

  afterAll(async () => {
    await kit?.close();
    await db?.drop();
  });

  it('starts due secrets only, at least a minute apart on the same target, and marks the overdue', async () => {
    const result = await runTick(db.pool, kit, silentLogger, now);
    expect(result.started.sort()).toEqual(['a/one', 'a/three', 'a/two', 'b/only', 'd/stale']);
    expect(result.overdue).toEqual(['d/stale']);
    const runs = await db.pool.query<{ secret_id: string; not_before: Date | null; trigger: string; actor: string }>(
      'select secret_id, not_before, trigger, actor from runs order by secret_id',
    );
    const startOf = (id: string) => runs.rows.find((r) => r.secret_id === id)!.not_before?.getTime() ?? now.getTime();
    const shared = ['a/one', 'a/two', 'a/three'].map(startOf).sort((x, y) => x - y);
    expect(shared[1]! - shared[0]!).toBeGreaterThanOrEqual(60_000);
    expect(shared[2]! - shared[1]!).toBeGreaterThanOrEqual(60_000);
    expect(startOf('b/only')).toBe(now.getTime());
    expect(runs.rows.every((r) => r.trigger === 'schedule' && r.actor === 'scheduler')).toBe(true);
    const counts = await kit.queue(RUNS_QUEUE).counts();
    expect((counts.wait ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0)).toBe(5);
  });

  it('does not start a second run while one is active', async () => {
    const again = await runTick(db.pool, kit, silentLogger, new Date(now.getTime() + 1_000));
    expect(again.started).toEqual([]);
    const n = await db.pool.query('select count(*)::int as n from runs');
    expect(n.rows[0].n).toBe(5);
  });

  it('enqueues again a run whose job was lost and that nobody touched', async () => {
    await db.pool.query("update runs set updated_at = now() - interval '1 hour', not_before = null where secret_id = 'b/only'");
    const later = await runTick(db.pool, kit, silentLogger, new Date(), { staleMs: 300_000 });
    expect(later.requeued).toHaveLength(1);
    const counts = await kit.queue(RUNS_QUEUE).counts();
    expect((counts.wait ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0)).toBe(6);
  });

  it('leaves a secret whose run needed attention alone at the next ticks: no rotation loop', async () => {
    await db.pool.query("update runs set state = 'needs-attention', step = 'finished', error = 'target down' where secret_id = 'b/only'");
    await deferAfterFailure(db.pool, 'b/only', 3_600_000);
    for (let i = 1; i <= 3; i++) {
      const tick = await runTick(db.pool, kit, silentLogger, new Date(Date.now() + i * 30_000));
      expect(tick.started).not.toContain('b/only');
    }
    const later = await runTick(db.pool, kit, silentLogger, new Date(Date.now() + 3_700_000));
    expect(later.started).toContain('b/only');
  });
});
