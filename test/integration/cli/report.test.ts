// rotor report: per secret its cadence, CURRENT's age, last rotation, overdue days, failures and
// consumers confirmed; totals per owner and class; --owner/--class filters; CSV and a
// self-contained HTML file with an SVG bar per secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFixture, type CliFixture } from '../../helpers/cli-fixture.js';

const DAY = 86_400_000;

describe('rotor report', () => {
  let fx: CliFixture;

  beforeAll(async () => {
    fx = await cliFixture('report');
    await fx.write({
      'policies/p.yaml': `classes:
  monthly: { cadence: 30d }
secrets:
  - { id: a/old, owner: team-a, class: monthly, rotator: random-secret, store: { backend: local } }
  - { id: a/fresh, owner: team-a, class: monthly, rotator: random-secret, store: { backend: local } }
  - { id: b/never, owner: team-b, rotator: random-secret, cadence: 7d, store: { backend: local } }
`,
    });
    const now = Date.now();
    await fx.syncPolicies('policies', () => new Date(now - 2 * DAY));
    // a/old: rotated 40 days ago by alice (manual), one failure since, 1 of 2 consumers confirmed; due 10 days ago.
    // a/fresh: rotated 5 days ago by the scheduler, due in 25 days.
    const t = (d: number) => new Date(now - d * DAY);
    await fx.db.pool.query(
      `insert into runs (id, secret_id, trigger, actor, state, step, outcome, created_at, finished_at) values
          ('00000000-0000-0000-0000-000000000001', 'a/old', 'manual', 'alice', 'done', 'finished', 'rotated', $1, $1),
          ('00000000-0000-0000-0000-000000000002', 'a/old', 'schedule', 'scheduler', 'needs-attention', 'finished', 'discarded', $2, $2),
          ('00000000-0000-0000-0000-000000000003', 'a/fresh', 'schedule', 'scheduler', 'done', 'finished', 'rotated', $3, $3)`,
      [t(40), t(3), t(5)],
    );
    await fx.db.pool.query(
      `insert into run_consumers (run_id, consumer, wave, notified_at, confirmed_at) values
          ('00000000-0000-0000-0000-000000000001', 'web', 1, $1, $1), ('00000000-0000-0000-0000-000000000001', 'jobs', 1, $1, null)`,
      [t(40)],
    );
    await fx.db.pool.query(`update secrets set last_success_at = $1, next_due_at = $2 where id = 'a/old'`, [t(40), t(10)]);
    await fx.db.pool.query(`update secrets set last_success_at = $1, next_due_at = $2 where id = 'a/fresh'`, [t(5), t(-25)]);
  });

  afterAll(() => fx?.close());

  const cli = (args: string[]) => fx.cli(args);

  it('reports each secret and the totals per owner and class as JSON', async () => {
    const r = await cli(['report', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as {
      secrets: Array<Record<string, unknown>>;
      byOwner: Record<string, { secrets: number; overdue: number; failures: number }>;
      byClass: Record<string, { secrets: number }>;
    };
    const by = (id: string) => rep.secrets.find((s) => s.id === id)!;
    expect(by('a/old')).toMatchObject({
      owner: 'team-a',
      class: 'monthly',
      cadenceDays: 30,
      ageDays: 40,
      lastRotation: { by: 'alice', trigger: 'manual' },
      overdueDays: 10,
      failures: 1,
      consumersConfirmed: 1,
      consumersTotal: 2,
    });
    expect(by('a/fresh')).toMatchObject({
      ageDays: 5,
      overdueDays: 0,
      failures: 0,
      lastRotation: { by: 'scheduler', trigger: 'schedule' },
    });
    expect(by('b/never')).toMatchObject({ ageDays: null, lastRotation: null, overdueDays: 2, cadenceDays: 7 });
    expect(rep.byOwner).toEqual({
      'team-a': { secrets: 2, overdue: 1, failures: 1, oldestAgeDays: 40 },
      'team-b': { secrets: 1, overdue: 1, failures: 0, oldestAgeDays: null },
    });
    expect(rep.byClass).toMatchObject({ monthly: { secrets: 2 }, '(none)': { secrets: 1 } });
  });

  it('filters by owner and class; CSV, HTML and table forms; a bad format exits 2', async () => {
    const csv = await cli(['report', '--format', 'csv', '--owner', 'team-a', '--class', 'monthly']);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('id,owner,class,cadence,age_days,last_rotation,by,trigger,overdue_days,failures,consumers_confirmed');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['a/fresh', 'a/old']);

    const page = await cli(['report', '--format', 'html']);
    expect(page.code, page.stderr).toBe(0);
    expect(page.stdout).toMatch(/^<!doctype html>/);
    expect(page.stdout).not.toMatch(/<(script|link|img)\b|src=|href=/);
    const svg = page.stdout.slice(page.stdout.indexOf('<svg'), page.stdout.indexOf('</svg>'));
    // One bar per secret; a/old (40 days against 30) is the only one over its cadence.
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg.match(/class="over"/g)).toHaveLength(1);
    expect(svg).toContain('a/old: 40 days old, cadence 30 days');

    const tbl = await cli(['report']);
    expect(tbl.code, tbl.stderr).toBe(0);
    expect(tbl.stdout).toMatch(/^a\/old\s+team-a\s+monthly\s+every 30d\s+40\s/m);
    expect(tbl.stdout).toMatch(/^per owner\n.*\n(.*\n)?team-a\s+2\s+1\s+1\s+40$/m);

    expect((await cli(['report', '--format', 'pdf'])).code).toBe(2);
  });
});
