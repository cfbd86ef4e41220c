// The emergency lane's queries: locking a secret's active run to escalate it, recording the
// escalation, and whether an emergency needs a worker. The rules live in src/engine/emergency.ts.
import { RUN_COLUMNS, type RunRow } from './runs.js';
import type { Queryable } from './db.js';
import { ACTIVE_IN } from './run-states.js';

/** What escalation needs to know of the active run, read under a row lock. */
export type LockedRun = Pick<RunRow, 'id' | 'secretId' | 'trigger' | 'step' | 'promotedAt' | 'graceUntil'>;

/**
 * The secret's active run, locked (`for update`) until the caller's transaction ends, so its
 * trigger and grace cannot change between reading them and escalating. Null when none is active.
 */
export async function lockActiveRun(client: Queryable, secretId: string): Promise<LockedRun | null> {
  const r = await client.query<LockedRun>(
    `select id, secret_id as "secretId", trigger, step, promoted_at as "promotedAt", grace_until as "graceUntil"
     from runs where secret_id = $1 and state in ${ACTIVE_IN} for update`,
    [secretId],
  );
  return r.rows[0] ?? null;
}

/**
 * Records a run's escalation to an emergency: its trigger, the reason and force asked for, any
 * stagger or wait ended, and the grace end the caller computed.
 */
export async function markEscalated(
  client: Queryable,
  runId: string,
  change: { reason: string | null; force: boolean; graceUntil: Date | null },
): Promise<RunRow> {
  const r = await client.query<RunRow>(
    `update runs set trigger = 'emergency', reason = coalesce($2, reason), force = force or $3, not_before = null, wait_until = null,
       grace_until = $4, updated_at = now()
     where id = $1 returning ${RUN_COLUMNS}`,
    [runId, change.reason, change.force, change.graceUntil],
  );
  return r.rows[0]!;
}

/**
 * True while an emergency run needs a worker (queued, or running, or waiting with its wait over).
 * Emergencies waiting out a grace window do not count: they need no capacity then.
 */
export async function emergencyNeedsCapacity(db: Queryable): Promise<boolean> {
  const r = await db.query<{ busy: boolean }>(
    `select exists (select 1 from runs where trigger = 'emergency' and state in ${ACTIVE_IN}
       and (wait_until is null or wait_until <= now()) and (not_before is null or not_before <= now())) as busy`,
  );
  return r.rows[0]!.busy;
}
