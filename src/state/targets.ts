// Targets: the systems secrets live on (a database server, a Redis deployment, an IAM user...),
// named by their rotator's targetKey (src/rotator/catalogue.ts) and stored as secrets.target_key.
// The dashboard's target pages read them here: each target with its secrets' statuses (status.ts),
// a target's runs, and the secrets due within a horizon for the calendar.
import type { ResolvedSecret } from '../policy/types.js';
import type { Queryable } from './db.js';
import { ACTIVE_IN } from './run-states.js';
import { RUN_COLUMNS, type RunRow } from './runs.js';
import { STATUS_CASE, STATUS_SEVERITY, STATUSES, statusArgs, statusFrom, type SecretStatus, type StatusRules } from './status.js';

export interface TargetSummary {
  key: string;
  /** Its secrets, retired ones included. */
  secrets: number;
  counts: Record<SecretStatus, number>;
  /** The most urgent status among its secrets: the list's order. */
  worst: SecretStatus;
  /** The earliest next due date of its active secrets. */
  nextDueAt: Date | null;
}

/** Targets at most on one page: a fleet has far fewer targets than secrets. */
const MAX_TARGETS = 1000;

/** Every target (whose key contains `q`, when given), the most urgent first, then by key. */
export async function listTargets(db: Queryable, rules: StatusRules, q?: string): Promise<{ targets: TargetSummary[]; total: number }> {
  const args = statusArgs(rules);
  const filter = q ? `where strpos(lower(s.target_key), lower($${args.push(q)})) > 0` : '';
  const r = await db.query<{ key: string; counts: Record<string, number>; worst: number; nextDueAt: Date | null; total: number }>(
    `with inv as materialized (select s.target_key, s.next_due_at, ${STATUS_CASE} as status ${statusFrom()} ${filter}),
       per as (select target_key, status, count(*)::int as n, min(next_due_at) filter (where status <> 'retired') as due
               from inv group by target_key, status)
     select target_key as key, jsonb_object_agg(status, n) as counts, min(${STATUS_SEVERITY}) as worst,
       min(due) as "nextDueAt", count(*) over ()::int as total
     from per group by target_key order by worst, key limit ${MAX_TARGETS}`,
    args,
  );
  const targets = r.rows.map((row) => {
    const counts = Object.fromEntries(STATUSES.map((st) => [st, row.counts[st] ?? 0])) as Record<SecretStatus, number>;
    return {
      key: row.key,
      secrets: Object.values(counts).reduce((a, b) => a + b, 0),
      counts,
      worst: STATUSES[row.worst - 1]!,
      nextDueAt: row.nextDueAt,
    };
  });
  return { targets, total: r.rows[0]?.total ?? 0 };
}

/** The runs of every secret on a target, newest first. */
export async function targetRuns(db: Queryable, key: string, limit = 50): Promise<RunRow[]> {
  const r = await db.query<RunRow>(
    `select ${RUN_COLUMNS} from runs where secret_id in (select id from secrets where target_key = $1)
     order by created_at desc limit $2`,
    [key, limit],
  );
  return r.rows;
}

export interface UpcomingSecret {
  id: string;
  policy: ResolvedSecret;
  targetKey: string;
  nextDueAt: Date;
  lastSuccessAt: Date | null;
  /** A run is in progress now. */
  rotating: boolean;
}

export interface UpcomingFilter {
  /** Substring of the id. */
  q?: string | undefined;
  class?: string | undefined;
  owner?: string | undefined;
  target?: string | undefined;
}

/**
 * Active secrets next due before `until` (the overdue included), soonest first, at most `limit`,
 * and how many there are in all: what the calendar of upcoming rotations starts from.
 */
export async function upcomingSecrets(
  db: Queryable,
  until: Date,
  f: UpcomingFilter,
  limit: number,
): Promise<{ secrets: UpcomingSecret[]; total: number }> {
  const args: unknown[] = [until];
  const where = [`s.status = 'active'`, `s.next_due_at < $1`];
  if (f.q) where.push(`strpos(lower(s.id), lower($${args.push(f.q)})) > 0`);
  if (f.class) where.push(`s.policy->>'className' = $${args.push(f.class)}`);
  if (f.owner) where.push(`s.policy->>'owner' = $${args.push(f.owner)}`);
  if (f.target) where.push(`s.target_key = $${args.push(f.target)}`);
  const r = await db.query<UpcomingSecret & { total: number }>(
    `select s.id, s.policy, s.target_key as "targetKey", s.next_due_at as "nextDueAt", s.last_success_at as "lastSuccessAt",
       exists (select 1 from runs a where a.secret_id = s.id and a.state in ${ACTIVE_IN}) as rotating,
       count(*) over ()::int as total
     from secrets s where ${where.join(' and ')} order by s.next_due_at, s.id limit ${Math.max(1, Math.floor(limit))}`,
    args,
  );
  return { secrets: r.rows.map(({ total: _total, ...s }) => s), total: r.rows[0]?.total ?? 0 };
}
