// The scheduler's own queries: when each target may next see a run start, marking a run whose
// lost job was enqueued again, and deferring a due secret past its freeze (what the scheduler
// reads and writes besides due and stale lookups).
import type { ResolvedSecret } from '../policy/types.js';
import type { Queryable } from './db.js';

/**
 * For each of `targets`, the earliest moment a new run may start: `staggerMs` after the latest run
 * that began (or is set to begin) on it within the last `staggerMs` before `now`. Targets with no
 * such run are absent from the map: they may start at once.
 */
export async function nextStartsByTarget(db: Queryable, targets: string[], now: Date, staggerMs: number): Promise<Map<string, number>> {
  const r = await db.query<{ target: string; last: Date }>(
    `select s.target_key as target, max(coalesce(r.not_before, r.created_at)) as last
     from runs r join secrets s on s.id = r.secret_id
     where s.target_key = any($1::text[]) and coalesce(r.not_before, r.created_at) > $2
     group by s.target_key`,
    [targets, new Date(now.getTime() - staggerMs)],
  );
  return new Map(r.rows.map((row) => [row.target, row.last.getTime() + staggerMs]));
}

/** Marks a run touched now, so the next tick does not find it stale again and enqueue a second copy. */
export async function touchRun(db: Queryable, runId: string): Promise<void> {
  await db.query('update runs set updated_at = now() where id = $1', [runId]);
}

/** The policies of those of `ids` that have freezes: the scheduler checks them before starting a run. */
export async function policiesWithFreezes(db: Queryable, ids: string[]): Promise<Map<string, ResolvedSecret>> {
  if (!ids.length) return new Map();
  const r = await db.query<{ id: string; policy: ResolvedSecret }>(
    `select id, policy from secrets where id = any($1::text[]) and policy ? 'freezes'`,
    [ids],
  );
  return new Map(r.rows.map((row) => [row.id, row.policy]));
}

/** Moves a due secret's next due time to `until` (past its freeze); false if it is not due any more. */
export async function deferDue(db: Queryable, id: string, dueBefore: Date, until: Date): Promise<boolean> {
  const r = await db.query(`update secrets set next_due_at = $3, updated_at = now() where id = $1 and next_due_at <= $2`, [
    id,
    dueBefore,
    until,
  ]);
  return r.rowCount === 1;
}
