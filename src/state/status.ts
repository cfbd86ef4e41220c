// The one definition of a secret's status: its words, the SQL that derives it from the state
// database alone (so a stopped scheduler cannot hide an overdue secret), and the queries that read
// it for `rotor status`, the dashboard, the API and /metrics.
import type { Queryable } from './db.js';
import { ACTIVE_IN } from './run-states.js';

/** Most urgent first: the inventory's default order and the order of the status chips. */
export const STATUSES = ['needs-attention', 'overdue', 'rotating', 'due-soon', 'healthy', 'retired'] as const;
export type SecretStatus = (typeof STATUSES)[number];

/** What needs an operator now: the dashboard's default view. */
export const NEEDS_ME_NOW: readonly SecretStatus[] = ['needs-attention', 'overdue', 'rotating'];

/** The two rules an operator sets (ROTOR_DASHBOARD_DUE_SOON, ROTOR_OVERDUE_TOLERANCE; see config.ts). */
export interface StatusThresholds {
  /** A secret due within this long is "due soon", or within a tenth of its cadence if shorter (DUE_SOON_SHARE). @defaultValue 7d */
  dueSoonMs: number;
  /** Due for longer than this without success: overdue (the scheduler's own tolerance). @defaultValue 1h */
  overdueToleranceMs: number;
}

export interface StatusRules extends StatusThresholds {
  now: Date;
}

/**
 * Overdue: marked by the scheduler, or past due by more than the tolerance even if no scheduler
 * marked it. `t` is the secrets table's alias ('' for none); `now` and `tolerance` are parameters.
 */
function overdueWhen(t: string, now: string, tolerance: string): string {
  return `${t}overdue_since is not null
      or ${t}next_due_at < ${now}::timestamptz - make_interval(secs => ${tolerance}::double precision / 1000)`;
}

/**
 * "Due soon" is relative to the cadence: within this share of it, capped by ROTOR_DASHBOARD_DUE_SOON,
 * so a secret rotated every two minutes is not always due soon under a 7-day threshold.
 */
export const DUE_SOON_SHARE = 0.1;

/**
 * The due-soon threshold of secret `s.` in ms: the cap ($2), or DUE_SOON_SHARE of its cadence when
 * that is shorter. The cadence is the policy's interval; for a cron schedule, the time from the
 * last success to the next due date (one occurrence). `least` ignores a null: never rotated, the cap.
 */
const DUE_SOON_MS = `least($2::double precision, ${DUE_SOON_SHARE} * case
      when s.policy->'schedule'->>'kind' = 'interval' then (s.policy->'schedule'->>'ms')::double precision
      when s.next_due_at > s.last_success_at then extract(epoch from s.next_due_at - s.last_success_at) * 1000
    end)`;

/**
 * The status of every secret from `secrets s`, `runs a` (its active run) and `f` (its latest run
 * that needs attention). Precedence: retired, then a run in progress, then a failed run newer than
 * the last success (with one active run per secret, that is exactly "the last run needs
 * attention"), then overdue (marked by the scheduler, or past due plus the tolerance even if no
 * scheduler marked it), then due soon (DUE_SOON_MS), else healthy.
 * Every query using it passes statusArgs(rules) as $1 now, $2 due-soon ms, $3 overdue tolerance ms.
 */
export const STATUS_CASE = `case
    when s.status = 'retired' then 'retired'
    when a.id is not null then 'rotating'
    when f.failed_at > coalesce(s.last_success_at, '-infinity'::timestamptz) then 'needs-attention'
    when ${overdueWhen('s.', '$1', '$3')} then 'overdue'
    when s.next_due_at <= $1::timestamptz + make_interval(secs => ${DUE_SOON_MS} / 1000) then 'due-soon'
    else 'healthy'
  end`;

export function statusArgs(rules: StatusRules): unknown[] {
  return [rules.now, rules.dueSoonMs, rules.overdueToleranceMs];
}

/**
 * The FROM clause STATUS_CASE reads. For every secret, hash joins, not a lookup per secret: one pass
 * over the active-run index and the failed runs. `only`, a condition on `s`, narrows the secrets
 * before any status work (it becomes the clause's `where`): then each of them looks up its own
 * newest failed run in runs_needs_attention, and no other secret's runs are read.
 */
export function statusFrom(only?: string): string {
  const failed = only
    ? `left join lateral (select max(r.created_at) as failed_at from runs r
             where r.secret_id = s.id and r.state = 'needs-attention') f on true
  where (${only})`
    : `left join (select secret_id, max(created_at) as failed_at from runs
             where state = 'needs-attention' group by secret_id) f on f.secret_id = s.id`;
  return `from secrets s
  left join runs a on a.secret_id = s.id and a.state in ${ACTIVE_IN}
  ${failed}`;
}

/** Secrets rotated by a person (`rotator: manual`): rotor never starts their runs. */
const MANUAL = `s.policy->'rotator'->>'name' = 'manual'`;

/** `array_position` of a status in STATUSES: sorts the most urgent first. */
export const STATUS_SEVERITY = `array_position(array[${STATUSES.map((s) => `'${s}'`).join(', ')}]::text[], status)`;

/** One secret's status, or null when no such secret exists. */
export async function secretStatus(db: Queryable, id: string, rules: StatusRules): Promise<SecretStatus | null> {
  const r = await db.query<{ status: SecretStatus }>(`select ${STATUS_CASE} as status ${statusFrom('s.id = $4')}`, [
    ...statusArgs(rules),
    id,
  ]);
  return r.rows[0]?.status ?? null;
}

export interface StatusLine {
  id: string;
  status: SecretStatus;
  lastSuccessAt: Date | null;
  nextDueAt: Date | null;
}

/** Every secret (retired ones included) with its status, by id: what `rotor status` lists. */
export async function listStatuses(db: Queryable, rules: StatusRules): Promise<StatusLine[]> {
  const r = await db.query<StatusLine>(
    `select s.id, ${STATUS_CASE} as status, s.last_success_at as "lastSuccessAt", s.next_due_at as "nextDueAt"
     ${statusFrom()} order by s.id`,
    statusArgs(rules),
  );
  return r.rows;
}

/** Counts per status only: what /metrics needs, without a page of rows. */
export async function statusCounts(db: Queryable, rules: StatusRules): Promise<Record<SecretStatus, number>> {
  const r = await db.query<{ status: SecretStatus; n: number }>(
    `select status, count(*)::int as n from (select ${STATUS_CASE} as status ${statusFrom()}) x group by status`,
    statusArgs(rules),
  );
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<SecretStatus, number>;
  for (const row of r.rows) counts[row.status] = row.n;
  return counts;
}

/**
 * Manual secrets (`rotator: manual`: a person rotates them) that are due soon or overdue by
 * STATUS_CASE, with their owner: rotor cannot rotate them, so their owner is told when they fall due.
 * The watcher asks on every pass: only manual secrets get any status work (their failed runs included).
 */
export async function manualDue(db: Queryable, rules: StatusRules): Promise<Array<{ id: string; owner: string | null }>> {
  const r = await db.query<{ id: string; owner: string | null }>(
    `select id, owner from (select s.id, s.policy->>'owner' as owner, ${STATUS_CASE} as status
       ${statusFrom(MANUAL)}) x where status in ('due-soon', 'overdue')`,
    statusArgs(rules),
  );
  return r.rows;
}

/** Ids of active secrets that are overdue by the same rule as STATUS_CASE's overdue branch. */
export async function overdueIds(db: Queryable, rules: StatusRules): Promise<string[]> {
  const r = await db.query<{ id: string }>(`select id from secrets where status = 'active' and (${overdueWhen('', '$1', '$2')})`, [
    rules.now,
    rules.overdueToleranceMs,
  ]);
  return r.rows.map((row) => row.id);
}
