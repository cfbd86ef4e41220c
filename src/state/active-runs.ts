// The active runs as a whole: how many are queued, running and waiting, the oldest, and which look
// stale (their job may be lost), for the queue health page and the scheduler's re-enqueue.
import type { Queryable } from './db.js';
import { ACTIVE_IN } from './run-states.js';

/**
 * An active run nobody touched for `staleMs` (parameters `staleMs`, `now`): no live lease, and its
 * last update, wait and not-before all older than that. Its job may be lost (Redis restarted
 * without AOF); the scheduler re-enqueues it. Only meaningful on active runs.
 */
export function staleWhen(staleMs: string, now: string): string {
  return `(lease_until is null or lease_until < ${now})
       and greatest(updated_at, coalesce(wait_until, updated_at), coalesce(not_before, updated_at))
           < ${now} - make_interval(secs => ${staleMs}::double precision / 1000)`;
}

export interface ActiveRunSummary {
  queued: number;
  running: number;
  waiting: number;
  oldestActiveAt: Date | null;
  /** Active runs not touched for `staleMs`. */
  stale: number;
}

/** Served by the runs_active partial index: it reads the active runs only. */
export async function activeRunSummary(db: Queryable, staleMs: number, now: Date): Promise<ActiveRunSummary> {
  const r = await db.query<ActiveRunSummary>(
    `select count(*) filter (where state = 'queued')::int as queued, count(*) filter (where state = 'running')::int as running,
       count(*) filter (where state = 'waiting')::int as waiting, min(created_at) as "oldestActiveAt",
       count(*) filter (where ${staleWhen('$1', '$2::timestamptz')})::int as stale
     from runs where state in ${ACTIVE_IN}`,
    [staleMs, now],
  );
  return r.rows[0]!;
}
