// What an active run is waiting for, and until when: the per-target stagger (not_before, behind an
// earlier run on the same target) or a wait the engine set (wait_until: grace, a yield to an
// emergency). Read for `rotor status`, `history` and `rotate --wait`, which would otherwise show a
// run sitting in "rotating" with nothing said.
import type { Queryable } from './db.js';
import { ACTIVE_IN } from './run-states.js';

export interface RunWait {
  runId: string;
  secretId: string;
  /** `stagger`: not before `until`, after `behind` on the same target; `wait`: the engine paused it. */
  kind: 'stagger' | 'wait';
  until: Date;
  /** The step the run is at (for a `wait`: grace, or the step it yields at). */
  step: string;
  /** The target the stagger spaces runs on. */
  target: string;
  /** The run on the same target that starts (or started) just before this one: what it waits for. */
  behind: { runId: string; secretId: string; state: string } | null;
}

interface WaitRow {
  runId: string;
  secretId: string;
  notBefore: Date | null;
  waitUntil: Date | null;
  step: string;
  target: string;
  behindRunId: string | null;
  behindSecretId: string | null;
  behindState: string | null;
}

/**
 * The waits of active runs still in the future at `now`: of the runs in `runIds`, or of every active
 * run when it is omitted. Keyed by run id; runs that wait for nothing are absent.
 */
export async function activeRunWaits(db: Queryable, now: Date, runIds?: readonly string[]): Promise<Map<string, RunWait>> {
  const r = await db.query<WaitRow>(
    `select a.id as "runId", a.secret_id as "secretId", a.not_before as "notBefore", a.wait_until as "waitUntil",
       a.step, s.target_key as target, b.id as "behindRunId", b.secret_id as "behindSecretId", b.state as "behindState"
     from runs a join secrets s on s.id = a.secret_id
     left join lateral (
       select r.id, r.secret_id, r.state from runs r join secrets s2 on s2.id = r.secret_id
       where a.not_before is not null and s2.target_key = s.target_key and r.id <> a.id
         and coalesce(r.not_before, r.created_at) < a.not_before
       order by coalesce(r.not_before, r.created_at) desc limit 1) b on true
     where a.state in ${ACTIVE_IN} and (a.not_before > $1 or a.wait_until > $1)
       and ($2::uuid[] is null or a.id = any($2::uuid[]))`,
    [now, runIds ? [...runIds] : null],
  );
  const waits = new Map<string, RunWait>();
  for (const w of r.rows) {
    const stagger = w.notBefore !== null && w.notBefore > now;
    waits.set(w.runId, {
      runId: w.runId,
      secretId: w.secretId,
      kind: stagger ? 'stagger' : 'wait',
      until: (stagger ? w.notBefore : w.waitUntil) as Date,
      step: w.step,
      target: w.target,
      behind: stagger && w.behindRunId ? { runId: w.behindRunId, secretId: w.behindSecretId!, state: w.behindState! } : null,
    });
  }
  return waits;
}
