// The alert watcher asks for due manual secrets on every pass (status.ts manualDue): status work is
// done for manual secrets only, however many other secrets and failed runs the state holds.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Queryable } from '../../../src/state/db.js';
import { migrate } from '../../../src/state/migrate.js';
import { manualDue, type StatusRules } from '../../../src/state/status.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

/** Non-manual secrets, each with a failed run: what a pass must not read. */
const OTHERS = 2000;
const RULES = (): StatusRules => ({ now: new Date(), dueSoonMs: 7 * 86_400_000, overdueToleranceMs: 0 });

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('manual due');
  await migrate(db.pool);
  const policy = (rotator: string) =>
    `jsonb_build_object('owner', 'ops', 'rotator', jsonb_build_object('name', '${rotator}'), 'schedule', jsonb_build_object('kind', 'interval', 'ms', 86400000))`;
  await db.pool.query(
    `insert into secrets (id, policy, policy_hash, target_key, next_due_at)
     select 'auto/' || i, ${policy('memory')}, 'h', 'k', now() + interval '1 hour' from generate_series(1, ${OTHERS}) i`,
  );
  await db.pool.query(
    `insert into runs (id, secret_id, trigger, actor, state) select gen_random_uuid(), id, 'schedule', 'test', 'needs-attention' from secrets`,
  );
  // Due soon (within a tenth of a day), overdue, healthy, and due soon but its last run failed (needs attention).
  await db.pool.query(
    `insert into secrets (id, policy, policy_hash, target_key, next_due_at) values
       ('m/soon', ${policy('manual')}, 'h', 'k', now() + interval '1 hour'),
       ('m/late', ${policy('manual')}, 'h', 'k', now() - interval '1 hour'),
       ('m/fine', ${policy('manual')}, 'h', 'k', now() + interval '20 hours'),
       ('m/failed', ${policy('manual')}, 'h', 'k', now() + interval '1 hour')`,
  );
  await db.pool.query(
    `insert into runs (id, secret_id, trigger, actor, state) values (gen_random_uuid(), 'm/failed', 'manual', 'test', 'needs-attention')`,
  );
  await db.pool.query('analyze');
});

afterAll(async () => {
  await db?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)];
}

it('lists the manual secrets due soon or overdue, with their owner', async () => {
  const due = await manualDue(db.pool, RULES());
  expect(due.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
    { id: 'm/late', owner: 'ops' },
    { id: 'm/soon', owner: 'ops' },
  ]);
});

it('reads no status of a non-manual secret: no plan step handles more rows than there are manual secrets', async () => {
  // The same query, explained: every node's rows (times its loops) stay within the 4 manual secrets.
  let plan: PlanNode | undefined;
  const explaining: Queryable = {
    query: (async (sql: string, args?: unknown[]) => {
      const r = await db.pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`explain (analyze, format json) ${sql}`, args);
      plan = r.rows[0]?.['QUERY PLAN'][0]?.Plan;
      return { rows: [] };
    }) as Queryable['query'],
  };
  await manualDue(explaining, RULES());
  expect(plan).toBeDefined();
  const busiest = nodes(plan!).map((n) => ({ node: n['Node Type'], rows: n['Actual Rows'] * n['Actual Loops'] }));
  expect(busiest.filter((n) => n.rows > 4)).toEqual([]);
});
