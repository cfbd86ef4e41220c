// /metrics' registry on a real PostgreSQL: durations bucketed in SQL come out as a cumulative
// Prometheus histogram, runs are split into ended (counter) and active (gauge), and the refusal
// counter is there from the start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/observe/metrics.js';
import { migrate } from '../../../src/state/migrate.js';
import { createRun } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { runDurationBuckets } from '../../../src/state/metrics.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture } from '../engine/fixtures.js';
import { recordRunEnd } from '../dashboard/setup.js';

describe('the metrics registry', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('observe metrics');
    await migrate(db.pool);
    const ids = ['m/a', 'm/b', 'm/c', 'm/d'];
    await syncSecrets(
      db.pool,
      ids.map((id) => secretFixture(id)),
      { actor: 'test', targetKeyOf: (s) => `memory://${s.id}`, nextDueOf: () => new Date(Date.now() + 86_400_000) },
    );
    // Three ended runs of 2 s, 100 s and 2 h (manual), one still queued (schedule).
    for (const [id, seconds] of [
      ['m/a', 2],
      ['m/b', 100],
      ['m/c', 7200],
    ] as const) {
      const run = await createRun(db.pool, { secretId: id, trigger: 'manual', actor: 'test' });
      await recordRunEnd(db.pool, run.id, { state: 'done', step: 'finished', outcome: 'rotated', finishedAt: new Date() });
      await db.pool.query(`update runs set created_at = finished_at - make_interval(secs => $2) where id = $1`, [run.id, seconds]);
    }
    await createRun(db.pool, { secretId: 'm/d', trigger: 'schedule', actor: 'test' });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('buckets durations cumulatively in SQL', async () => {
    expect(await runDurationBuckets(db.pool, [1, 5, 300, 3600, 86_400])).toEqual([
      { trigger: 'manual', buckets: [0, 1, 2, 2, 3], sumSeconds: expect.closeTo(7302, 0), count: 3 },
    ]);
  });

  it('exposes the histogram, ended and active runs, and the refusal counter in the Prometheus format', async () => {
    const metrics = createMetrics({ db: db.pool, rules: () => ({ now: new Date(), dueSoonMs: 0, overdueToleranceMs: 0 }) });
    metrics.tokenRefusals.inc({ token: 'read', reason: 'wrong' });
    const text = await metrics.render();
    expect(metrics.contentType).toContain('text/plain');
    expect(text).toContain('# TYPE rotor_run_duration_seconds histogram');
    expect(text).toMatch(/^rotor_run_duration_seconds_bucket\{trigger="manual",le="1"\} 0$/m);
    expect(text).toMatch(/^rotor_run_duration_seconds_bucket\{trigger="manual",le="5"\} 1$/m);
    expect(text).toMatch(/^rotor_run_duration_seconds_bucket\{trigger="manual",le="300"\} 2$/m);
    expect(text).toMatch(/^rotor_run_duration_seconds_bucket\{trigger="manual",le="14400"\} 3$/m);
    expect(text).toMatch(/^rotor_run_duration_seconds_bucket\{trigger="manual",le="\+Inf"\} 3$/m);
    expect(text).toMatch(/^rotor_run_duration_seconds_count\{trigger="manual"\} 3$/m);
    expect(text).toMatch(/^rotor_runs_total\{trigger="manual",result="rotated"\} 3$/m);
    expect(text).toMatch(/^rotor_runs_active\{trigger="schedule",state="queued"\} 1$/m);
    expect(text).toMatch(/^rotor_dashboard_token_refusals_total\{token="read",reason="wrong"\} 1$/m);
    expect(text).not.toContain('bullmq_job_count{'); // no queues given: no queue samples
    // A second scrape reads the database again: a run that ended since shows up.
    await db.pool.query(`update runs set state = 'needs-attention', outcome = 'discarded', finished_at = now() where secret_id = 'm/d'`);
    const again = await metrics.render();
    expect(again).toMatch(/^rotor_runs_total\{trigger="schedule",result="discarded"\} 1$/m);
    expect(again).not.toMatch(/^rotor_runs_active\{/m);
  });
});
