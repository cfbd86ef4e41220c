// Due soon relative to the cadence (status.ts, read alike by rotor status, the dashboard, the API and
// /metrics), the targets secrets live on, and the calendar of upcoming rotations built on the
// scheduler's own nextDue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendar } from '../../../src/dashboard/calendar.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { migrate } from '../../../src/state/migrate.js';
import { createRun } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { listStatuses, statusCounts } from '../../../src/state/status.js';
import { listTargets, targetRuns, upcomingSecrets } from '../../../src/state/targets.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture } from '../engine/fixtures.js';

const S = 1000;
const DAY = 86_400_000;
const TWO_MINUTES = { kind: 'interval', ms: 120 * S, text: '2m' } as const;
const MONTHLY = { kind: 'interval', ms: 30 * DAY, text: '30d' } as const;
const WEEKLY_CRON = { kind: 'cron', expression: '0 3 * * 1', tz: 'UTC' } as const;

/** id → schedule, target, due in, last success ago (null: never rotated), and the status expected. */
const CASES: Array<[string, ResolvedSecret['schedule'], string, number, number | null, string]> = [
  ['demo/fast-soon', TWO_MINUTES, 'postgres://demo:5432/app', 10 * S, 110 * S, 'due-soon'], // within 12 s (10 % of 2m)
  ['demo/fast-later', TWO_MINUTES, 'postgres://demo:5432/app', 60 * S, 60 * S, 'healthy'], // was due soon under a flat 7d
  ['month/soon', MONTHLY, 'redis://r1:6379/app', 2 * DAY, 28 * DAY, 'due-soon'], // within 3d
  ['month/later', MONTHLY, 'redis://r1:6379/app', 5 * DAY, 25 * DAY, 'healthy'],
  ['week/cron-soon', WEEKLY_CRON, 'rds://eu-west-1/cluster/main', 12 * 3_600 * S, 6.5 * DAY, 'due-soon'], // within 16.8h
  ['week/cron-later', WEEKLY_CRON, 'rds://eu-west-1/cluster/main', DAY, 6 * DAY, 'healthy'],
  ['week/never', WEEKLY_CRON, 'rds://eu-west-1/cluster/main', 2 * DAY, null, 'due-soon'], // no cadence seen yet: the 7d cap
];

describe('targets, due soon and the calendar', () => {
  let db: TestDatabase;
  const now = new Date();
  const rules = { now, dueSoonMs: 7 * DAY, overdueToleranceMs: 3_600 * S };

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.pool);
    const byId = new Map(CASES.map((c) => [c[0], c]));
    await syncSecrets(
      db.pool,
      CASES.map(([id, schedule]) => secretFixture(id, { schedule, className: id.split('/')[0] })),
      {
        actor: 'test',
        targetKeyOf: (s) => byId.get(s.id)![2],
        nextDueOf: (s) => new Date(now.getTime() + byId.get(s.id)![3]),
      },
    );
    for (const [id, , , , ago] of CASES)
      if (ago !== null) await db.pool.query('update secrets set last_success_at = $2 where id = $1', [id, new Date(now.getTime() - ago)]);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('calls a secret due soon within a tenth of its cadence, capped by ROTOR_DASHBOARD_DUE_SOON', async () => {
    const statuses = Object.fromEntries((await listStatuses(db.pool, rules)).map((l) => [l.id, l.status]));
    expect(statuses).toEqual(Object.fromEntries(CASES.map((c) => [c[0], c[5]])));
    expect(await statusCounts(db.pool, rules)).toMatchObject({ 'due-soon': 4, healthy: 3 });
    // A cap below the tenth wins: with 1d, the monthly secret due in 2 days is healthy.
    const capped = Object.fromEntries((await listStatuses(db.pool, { ...rules, dueSoonMs: DAY })).map((l) => [l.id, l.status]));
    expect(capped['month/soon']).toBe('healthy');
    expect(capped['demo/fast-soon']).toBe('due-soon');
  });

  it('lists targets with their statuses, most urgent first, and a target runs', async () => {
    const run = await createRun(db.pool, { secretId: 'month/soon', trigger: 'manual', actor: 'test' });
    const { targets, total } = await listTargets(db.pool, rules);
    expect(total).toBe(3);
    expect(targets[0]).toMatchObject({ key: 'redis://r1:6379/app', worst: 'rotating', secrets: 2 });
    expect(targets[0]!.counts).toMatchObject({ rotating: 1, healthy: 1 });
    expect(targets.find((t) => t.key.startsWith('rds://'))).toMatchObject({
      secrets: 3,
      counts: expect.objectContaining({ 'due-soon': 2 }),
    });
    expect((await listTargets(db.pool, rules, 'POSTGRES')).targets.map((t) => t.key)).toEqual(['postgres://demo:5432/app']);
    expect((await targetRuns(db.pool, 'redis://r1:6379/app')).map((r) => r.id)).toEqual([run.id]);
    expect(await targetRuns(db.pool, 'postgres://demo:5432/app')).toEqual([]);
  });

  it('lays out the next 30 days of rotations by day and window, as the scheduler computes them', async () => {
    const until = new Date(now.getTime() + 30 * DAY);
    const { secrets, total } = await upcomingSecrets(db.pool, until, {}, 100);
    expect(total).toBe(7);
    expect(secrets[0]!.id).toBe('demo/fast-soon'); // soonest first
    expect(secrets.find((s) => s.id === 'month/soon')?.rotating).toBe(true);
    const days = calendar(secrets, now);
    expect(days.length).toBeGreaterThanOrEqual(30);
    const entries = (id: string) => days.flatMap((d) => d.windows.flatMap((w) => w.entries.filter((e) => e.id === id)));
    // Every two minutes: on every day, 720 times on a whole one.
    const fast = entries('demo/fast-soon');
    expect(fast.length).toBe(days.length);
    expect(fast.slice(1, -1).every((e) => e.count === 720)).toBe(true);
    // Monthly: once, on its due date.
    expect(entries('month/later').map((e) => [e.count, e.first.getTime()])).toEqual([[1, now.getTime() + 5 * DAY]]);
    // The weekly cron: Mondays 03:00 UTC, four or five of them.
    const mondays = entries('week/cron-later');
    expect(mondays.length).toBeGreaterThanOrEqual(4);
    expect(mondays.slice(1).every((e) => e.first.getUTCDay() === 1 && e.first.getUTCHours() === 3)).toBe(true);
    // A filter by target keeps only its secrets.
    const onDemo = await upcomingSecrets(db.pool, until, { target: 'postgres://demo:5432/app' }, 100);
    expect(onDemo.secrets.map((s) => s.id).sort()).toEqual(['demo/fast-later', 'demo/fast-soon']);
  });
});
