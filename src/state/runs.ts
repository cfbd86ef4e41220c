// Runs and their steps: creation under the one-active-run-per-secret index, leases, step records.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ResolvedSecret } from '../policy/types.js';
import { AlreadyInProgressError, NotFoundError } from '../errors.js';
import { staleWhen } from './active-runs.js';
import type { AuditEntry } from './audit.js';
import type { Queryable } from './db.js';
import { IncidentItemTakenError, incidentLinkSql } from './incidents.js';
import { ACTIVE_IN, type RunState } from './run-states.js';

export { ACTIVE_STATES, type RunState } from './run-states.js';

/** What started a run: the scheduler, `rotor rotate`, an emergency, or `rotor attest --value-stdin` (a manual secret's new value). */
export type RunTrigger = 'schedule' | 'manual' | 'emergency' | 'attest';
/**
 * How a run ended. `rollback-unconfirmed`: rolled back, but a consumer did not confirm the old version, so the
 * new credential was kept working and in the store (src/engine/failure.ts; `rotor repair` takes it back).
 */
export type RunOutcome = 'rotated' | 'discarded' | 'rolled-back' | 'rollback-failed' | 'rollback-unconfirmed';

export interface RunRow {
  id: string;
  secretId: string;
  trigger: RunTrigger;
  actor: string;
  reason: string | null;
  force: boolean;
  state: RunState;
  step: string;
  stepAttempt: number;
  totalAttempts: number;
  oldVersion: string | null;
  newVersion: string | null;
  notBefore: Date | null;
  promotedAt: Date | null;
  graceUntil: Date | null;
  waitUntil: Date | null;
  outcome: RunOutcome | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  updatedAt: Date;
  finishedAt: Date | null;
  /** When the rotator's in-use check last found the old credential in use after promote. */
  oldLastSeenAt: Date | null;
  /** How many sessions of the old credential that check found. */
  oldSessionsSeen: number | null;
}

/** The columns of a RunRow, for `returning` and `select` lists in src/state. */
export const RUN_COLUMNS = `id, secret_id as "secretId", trigger, actor, reason, force, state, step,
  step_attempt as "stepAttempt", total_attempts as "totalAttempts", old_version as "oldVersion",
  new_version as "newVersion", not_before as "notBefore", promoted_at as "promotedAt",
  grace_until as "graceUntil", wait_until as "waitUntil", outcome, error, created_at as "createdAt",
  started_at as "startedAt", updated_at as "updatedAt", finished_at as "finishedAt",
  old_last_seen_at as "oldLastSeenAt", old_sessions_seen as "oldSessionsSeen"`;

export interface NewRun {
  secretId: string;
  trigger: RunTrigger;
  actor: string;
  reason?: string | null;
  force?: boolean;
  notBefore?: Date | null;
  /** The incident this run rotates a secret of: linked in the run's own transaction (src/state/incidents.ts). */
  incidentId?: string;
}

/**
 * Creates a run, or throws AlreadyInProgressError naming the active one. The partial unique index
 * decides, so concurrent requests from any number of processes produce exactly one run.
 */
export async function createRun(pool: pg.Pool, req: NewRun): Promise<RunRow> {
  const id = randomUUID();
  const detail = { trigger: req.trigger, force: req.force ?? false, ...(req.incidentId ? { incidentId: req.incidentId } : {}) };
  const args: unknown[] = [id, req.secretId, req.trigger, req.actor, req.reason ?? null, req.force ?? false, req.notBefore ?? null];
  args.push(JSON.stringify(detail));
  // One statement: the run, its incident link (the run is inserted only if the link took), and its
  // audit row, together or not at all. The audit insert locks the chain's head row until the commit
  // (0008_audit_chain.sql), which here ends the statement.
  const link = req.incidentId
    ? `l as (${incidentLinkSql(`$${args.push(req.incidentId)}::uuid`, '$2::text', '$1::uuid')} returning 1),`
    : '';
  try {
    const r = await pool.query<RunRow>(
      `with ${link}
         r as (insert into runs (id, secret_id, trigger, actor, reason, force, not_before)
               select $1::uuid, $2::text, $3::text, $4::text, $5::text, $6::boolean, $7::timestamptz
               ${link ? 'where exists (select from l)' : ''}
               returning ${RUN_COLUMNS}),
         a as (insert into audit (actor, action, secret_id, run_id, reason, detail)
               select $4::text, 'run.requested', $2::text, r.id, $5::text, $8::jsonb from r)
       select * from r`,
      args,
    );
    const row = r.rows[0];
    if (!row) throw new IncidentItemTakenError(req.incidentId!, req.secretId);
    return row;
  } catch (err) {
    const pgErr = err as { code?: string; constraint?: string };
    if (pgErr.code === '23505' && pgErr.constraint === 'runs_one_active_per_secret') {
      const active = await activeRun(pool, req.secretId);
      // The active run may have finished in between; then the caller may simply ask again.
      throw new AlreadyInProgressError(req.secretId, active?.id ?? 'that just finished');
    }
    if (pgErr.code === '23503') {
      throw new NotFoundError(`no secret ${req.secretId} in the state database`, {
        hint: 'check the id with `rotor status`; a secret must be in the policies and synced (rotor start)',
      });
    }
    throw err;
  }
}

export async function getRun(db: Queryable, id: string): Promise<RunRow | null> {
  const r = await db.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1`, [id]);
  return r.rows[0] ?? null;
}

export async function activeRun(db: Queryable, secretId: string): Promise<RunRow | null> {
  const r = await db.query<RunRow>(`select ${RUN_COLUMNS} from runs where secret_id = $1 and state in ${ACTIVE_IN}`, [secretId]);
  return r.rows[0] ?? null;
}

export async function listRuns(db: Queryable, secretId: string, limit = 50): Promise<RunRow[]> {
  const r = await db.query<RunRow>(`select ${RUN_COLUMNS} from runs where secret_id = $1 order by created_at desc limit $2`, [
    secretId,
    limit,
  ]);
  return r.rows;
}

/**
 * The new version the secret's latest `rollback-unconfirmed` run kept working (a consumer did not
 * confirm the old version), with that run; null when no run of the secret ended so. Whether the
 * store still holds it is the store's to say: `rotor repair` takes it back.
 */
export async function lastKeptByRollback(db: Queryable, secretId: string): Promise<{ runId: string; newVersion: string } | null> {
  const r = await db.query<{ runId: string; newVersion: string }>(
    `select id as "runId", new_version as "newVersion" from runs
     where secret_id = $1 and outcome in ('rollback-unconfirmed', 'rollback-failed') and new_version is not null order by created_at desc limit 1`,
    [secretId],
  );
  return r.rows[0] ?? null;
}

/**
 * One sample of the old credential's use, as a run patch: its session count, and the time when
 * non-zero (oldLastSeenAt only moves forward: runUpdate writes the later of the two). The last
 * sample with sessions is when it was last seen in use. Recorded alone during grace and drain
 * (recordOldInUse), or with the step's completion.
 */
export function oldInUsePatch(sessions: number, at: Date): RunPatch {
  return sessions > 0 ? { oldSessionsSeen: sessions, oldLastSeenAt: at } : { oldSessionsSeen: sessions };
}

export async function recordOldInUse(db: Queryable, runId: string, sessions: number, at: Date): Promise<void> {
  const { sets, args } = runUpdate(runId, oldInUsePatch(sessions, at));
  await db.query(`update runs set ${sets} where id = $1`, args);
}

/** Active runs not touched for `staleMs`: their job may be lost (Redis restarted without AOF). */
export async function staleActiveRuns(db: Queryable, staleMs: number, now: Date): Promise<RunRow[]> {
  const r = await db.query<RunRow>(`select ${RUN_COLUMNS} from runs where state in ${ACTIVE_IN} and ${staleWhen('$1', '$2')}`, [
    staleMs,
    now,
  ]);
  return r.rows;
}

/**
 * Takes the run's lease for `owner`; returns the run, or null when another worker holds it.
 * Two jobs for one run (a re-enqueued job next to a slow one) can then never run steps at once.
 * `routineOnly` (a job of the routine queue) does not take a run that was escalated to an
 * emergency: that run's job on the emergency queue owns it now. The run comes with what the pass
 * needs of its secret (null when the secret's row is gone), read in the same statement.
 */
export async function claimRun(
  db: Queryable,
  runId: string,
  owner: string,
  leaseMs: number,
  routineOnly = false,
): Promise<(RunRow & { secret: ClaimedSecret | null }) | null> {
  const r = await db.query<RunRow & { secretPolicy: ResolvedSecret | null; secretLastSuccessAt: Date | null }>(
    `with r as (
       update runs set lease_owner = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000),
         state = case when state = 'queued' or state = 'waiting' then 'running' else state end,
         started_at = coalesce(started_at, now()), updated_at = now()
       where id = $1 and state in ${ACTIVE_IN}
         and (lease_owner is null or lease_owner = $2 or lease_until < now())
         and not ($4 and trigger = 'emergency')
       returning ${RUN_COLUMNS})
     select r.*, s.policy as "secretPolicy", s.last_success_at as "secretLastSuccessAt"
       from r left join secrets s on s.id = r."secretId"`,
    [runId, owner, leaseMs, routineOnly],
  );
  const row = r.rows[0];
  if (!row) return null;
  const { secretPolicy, secretLastSuccessAt, ...run } = row;
  return { ...run, secret: secretPolicy ? { policy: secretPolicy, lastSuccessAt: secretLastSuccessAt } : null };
}

/** What a pass needs of its run's secret: the policy it rotates by, and whether it ever rotated. */
export interface ClaimedSecret {
  policy: ResolvedSecret;
  lastSuccessAt: Date | null;
}

/**
 * Marks the run waiting until `until`. A pass that started as a routine run and was escalated while
 * it ran leaves no wait behind: the emergency job that took the run over must not find one.
 */
export async function markWaiting(db: Queryable, runId: string, until: Date, passTrigger: RunTrigger, leaseOwner: string): Promise<void> {
  // Only a pass that still holds the lease, on a run still active, may record a wait: a pass that
  // lost its lease during a stall must not overwrite what the run's new holder wrote.
  const r = await db.query(
    `update runs set state = 'waiting', wait_until = case when trigger = $3 then $2::timestamptz else null end, updated_at = now()
     where id = $1 and lease_owner = $4 and state in ${ACTIVE_IN}`,
    [runId, until, passTrigger, leaseOwner],
  );
  if (r.rowCount !== 1) throw new LeaseLostError(runId, leaseOwner);
}

export async function renewLease(db: Queryable, runId: string, owner: string, leaseMs: number): Promise<boolean> {
  const r = await db.query(
    `update runs set lease_until = now() + make_interval(secs => $3::double precision / 1000)
     where id = $1 and lease_owner = $2`,
    [runId, owner, leaseMs],
  );
  return r.rowCount === 1;
}

/** How long the run's lease has left, by the database's clock (negative once expired); null when none is held. */
export async function leaseLeftMs(db: Queryable, runId: string): Promise<number | null> {
  const r = await db.query<{ ms: number | null }>(
    `select (extract(epoch from lease_until - now()) * 1000)::float8 as ms from runs where id = $1 and lease_owner is not null`,
    [runId],
  );
  return r.rows[0]?.ms ?? null;
}

export async function releaseLease(db: Queryable, runId: string, owner: string): Promise<void> {
  await db.query('update runs set lease_owner = null, lease_until = null where id = $1 and lease_owner = $2', [runId, owner]);
}

export type RunPatch = Partial<
  Pick<
    RunRow,
    | 'state'
    | 'step'
    | 'stepAttempt'
    | 'oldVersion'
    | 'newVersion'
    | 'promotedAt'
    | 'graceUntil'
    | 'waitUntil'
    | 'outcome'
    | 'error'
    | 'finishedAt'
    | 'oldSessionsSeen'
    | 'oldLastSeenAt'
  >
> & {
  /** Added to total_attempts: 1 when a step starts, -1 when it turned out to be a wait. */
  totalAttempts?: 1 | -1;
  /** The pass gives the run's lease up with this write (the run ended). */
  releaseLease?: true;
};

const PATCH_COLUMNS: Record<string, string> = {
  state: 'state',
  step: 'step',
  stepAttempt: 'step_attempt',
  oldVersion: 'old_version',
  newVersion: 'new_version',
  promotedAt: 'promoted_at',
  graceUntil: 'grace_until',
  waitUntil: 'wait_until',
  outcome: 'outcome',
  error: 'error',
  finishedAt: 'finished_at',
  oldSessionsSeen: 'old_sessions_seen',
  oldLastSeenAt: 'old_last_seen_at',
};

/** The SET list and arguments of a run update; `args[0]` is the run id. */
function runUpdate(runId: string, patch: RunPatch): { sets: string; args: unknown[] } {
  const sets = ['updated_at = now()'];
  const args: unknown[] = [runId];
  for (const [key, column] of Object.entries(PATCH_COLUMNS)) {
    const value = (patch as Record<string, unknown>)[key];
    if (value === undefined) continue;
    // A later sample never moves the time the old credential was last seen in use back.
    if (key === 'oldLastSeenAt') sets.push(`${column} = greatest(${column}, $${args.push(value)}::timestamptz)`);
    else sets.push(`${column} = $${args.push(value)}`);
  }
  if (patch.totalAttempts) sets.push(`total_attempts = greatest(total_attempts + $${args.push(patch.totalAttempts)}, 0)`);
  if (patch.releaseLease) sets.push('lease_owner = null, lease_until = null');
  return { sets: sets.join(', '), args };
}

/**
 * A pass stalled past its lease (a long GC pause, a store that hung) and another pass claimed the
 * run: everything this pass would still write is stale, so the engine's writes refuse it.
 */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  constructor(runId: string, owner: string) {
    super(`run ${runId}: this pass (${owner}) no longer holds the run's lease; the pass that claimed it goes on`);
  }
}

/** Updates the run only while `owner` holds its lease; throws LeaseLostError otherwise. */
export async function updateRun(db: Queryable, runId: string, owner: string, patch: RunPatch): Promise<void> {
  const { sets, args } = runUpdate(runId, patch);
  const r = await db.query(`update runs set ${sets} where id = $1 and lease_owner = $${args.push(owner)}`, args);
  if (r.rowCount !== 1) throw new LeaseLostError(runId, owner);
}

/**
 * A step's success in one statement: the step row ends, the run advances, and the audit row is
 * appended together or not at all (a worker killed in between leaves no change without its audit
 * row), in one round trip instead of a transaction's four. Returns the run as it now is, so the
 * pass goes on without reading it again.
 *
 * With `startNext`, the same statement also starts the run's next step (`patch.step`), as
 * beginStep would: its first attempt counted and its step row inserted, and `nextStepId` names that
 * row. A pass from the routine lane starts nothing on a run escalated meanwhile (its emergency job
 * owns it now): `nextStepId` is then null, as without `startNext`.
 */
export async function completeStep(
  db: Queryable,
  stepId: number,
  detail: Record<string, unknown> | undefined,
  runId: string,
  owner: string,
  patch: RunPatch,
  audit: Omit<AuditEntry, 'runId'>,
  startNext?: { routineLane: boolean },
): Promise<RunRow & { nextStepId: number | null }> {
  const { sets: patchSets, args } = runUpdate(
    runId,
    startNext ? { ...patch, stepAttempt: undefined, totalAttempts: undefined, waitUntil: null } : patch,
  );
  const at = (v: unknown) => `$${args.push(v)}`;
  // The attempt the next step starts with: 1, or 0 (nothing started) for a routine pass whose run became an emergency.
  const started = startNext?.routineLane ? "(case when trigger = 'emergency' then 0 else 1 end)" : '1';
  const sets = startNext ? `${patchSets}, step_attempt = ${started}, total_attempts = total_attempts + ${started}` : patchSets;
  // All hang on the run's update, which only the lease's holder can make. The audit insert
  // is the statement's last write, so the chain's head row is locked only until its commit.
  const r = await db.query<RunRow & { nextStepId: number | null }>(
    `with r as (update runs set ${sets} where id = $1 and lease_owner = ${at(owner)} returning ${RUN_COLUMNS}),
          s as (update steps set status = 'succeeded', finished_at = now(), detail = ${at(detail ? JSON.stringify(detail) : null)}::jsonb
                from r where steps.id = ${at(stepId)}::bigint),
          n as (insert into steps (run_id, step, attempt, status)
                select r.id, r.step, 1, 'started' from r where ${startNext ? 'r."stepAttempt" = 1' : 'false'} returning id::int),
          a as (insert into audit (actor, action, secret_id, run_id, reason, detail)
                select ${at(audit.actor)}, ${at(audit.action)}, ${at(audit.secretId ?? null)}, r.id, ${at(audit.reason ?? null)}, ${at(audit.detail ? JSON.stringify(audit.detail) : null)}::jsonb from r)
     select r.*, (select id from n) as "nextStepId" from r`,
    args,
  );
  const row = r.rows[0];
  if (!row) throw new LeaseLostError(runId, owner);
  return row;
}

export interface StepRow {
  id: number;
  runId: string;
  step: string;
  attempt: number;
  status: 'started' | 'succeeded' | 'failed' | 'waiting';
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
  detail: Record<string, unknown> | null;
}

/**
 * A step's start in one statement: the run takes `patch` (its state, the attempt counted before the
 * step runs) and the step row is inserted, only while `owner` holds the lease (LeaseLostError
 * otherwise). Returns the step row's id.
 */
export async function beginStep(
  db: Queryable,
  runId: string,
  owner: string,
  patch: RunPatch,
  step: string,
  attempt: number,
): Promise<number> {
  const { sets, args } = runUpdate(runId, patch);
  const at = (v: unknown) => `$${args.push(v)}`;
  const r = await db.query<{ id: number }>(
    `with r as (update runs set ${sets} where id = $1 and lease_owner = ${at(owner)} returning id)
     insert into steps (run_id, step, attempt, status) select r.id, ${at(step)}, ${at(attempt)}, 'started' from r returning id::int`,
    args,
  );
  const row = r.rows[0];
  if (!row) throw new LeaseLostError(runId, owner);
  return row.id;
}

export async function endStep(
  db: Queryable,
  stepId: number,
  status: 'succeeded' | 'failed' | 'waiting',
  opts: { error?: string; detail?: Record<string, unknown> } = {},
): Promise<void> {
  await db.query(`update steps set status = $2, finished_at = now(), error = $3, detail = $4 where id = $1`, [
    stepId,
    status,
    opts.error ?? null,
    opts.detail ? JSON.stringify(opts.detail) : null,
  ]);
}

export async function listSteps(db: Queryable, runId: string): Promise<StepRow[]> {
  const r = await db.query<StepRow>(
    `select id::int, run_id as "runId", step, attempt, status, started_at as "startedAt",
       finished_at as "finishedAt", error, detail from steps where run_id = $1 order by id`,
    [runId],
  );
  return r.rows;
}
