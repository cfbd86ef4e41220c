// Emergencies: the lane an emergency run travels in (its own queue and workers, ahead of routine
// work), the escalation of an active routine run into an emergency, and the emergency-grace rule.
import type { Processor, Worker, WorkerOptions } from 'bullmq';
import type pg from 'pg';
import { AlreadyInProgressError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ResolvedSecret } from '../policy/types.js';
import type { QueueKit, RunJobData } from '../queue/backend.js';
import { EMERGENCY_QUEUE, RUNS_QUEUE } from '../queue/names.js';
import { appendAudit } from '../state/audit.js';
import { inTransaction } from '../state/db.js';
import { FAILURE_STEPS } from './steps.js';
import { emergencyNeedsCapacity, lockActiveRun, markEscalated } from '../state/emergency-runs.js';
import type { RunRow, RunTrigger } from '../state/runs.js';
import { getSecret } from '../state/secrets.js';
import type { EngineDeps } from './deps.js';

/** Routine runs (schedule and manual) and emergencies travel in separate lanes: queues and workers. */
export type Lane = 'routine' | 'emergency';

export function laneOf(trigger: RunTrigger): Lane {
  return trigger === 'emergency' ? 'emergency' : 'routine';
}

/** The queue of each lane. */
export const LANE_QUEUES: Readonly<Record<Lane, string>> = { routine: RUNS_QUEUE, emergency: EMERGENCY_QUEUE };

/** The job id under which an escalated run's emergency job is enqueued, beside its routine one. */
export function escalationJobId(runId: string): string {
  return `${runId}-emergency`;
}

type GraceFields = Pick<RunRow, 'trigger' | 'promotedAt' | 'graceUntil'>;
type GraceSettings = Pick<ResolvedSecret, 'graceMs' | 'emergencyGraceMs'>;

/**
 * The emergency-grace rule, the one place it is written. A run's grace ends its lane's grace after
 * promote (the class's grace, or its emergency grace); an emergency run, including one escalated
 * after its promote, never waits past `promotedAt + emergencyGraceMs`, whatever was decided when
 * it was promoted. Before promote there is no grace end to speak of: `graceUntil` stays as it is.
 */
export function graceEnd(run: GraceFields & { promotedAt: Date }, secret: GraceSettings): Date;
export function graceEnd(run: GraceFields, secret: GraceSettings): Date | null;
export function graceEnd(run: GraceFields, secret: GraceSettings): Date | null {
  const { trigger, promotedAt, graceUntil } = run;
  if (!promotedAt) return graceUntil;
  if (trigger !== 'emergency') return graceUntil ?? new Date(promotedAt.getTime() + secret.graceMs);
  const emergencyEnd = promotedAt.getTime() + secret.emergencyGraceMs;
  return new Date(graceUntil ? Math.min(graceUntil.getTime(), emergencyEnd) : emergencyEnd);
}

/**
 * Turns the secret's active routine run into an emergency, in place: an operator who asks for an
 * emergency rotation while a routine one is under way gets that run, sped up, rather than a refusal
 * or a second run. Its grace shrinks to the emergency grace (graceEnd), any stagger or wait ends,
 * and the audit trail records who escalated it and why. Returns null when no run is active (ask
 * again); throws AlreadyInProgressError when the active run is already an emergency.
 */
export async function escalateRun(
  pool: pg.Pool,
  secretId: string,
  req: { actor: string; reason: string | null; force?: boolean },
): Promise<RunRow | null> {
  return inTransaction(pool, async (client) => {
    const run = await lockActiveRun(client, secretId);
    if (!run) return null;
    // An attested rotation carries a person's value, not one an emergency could make afresh: it is left to finish.
    if (run.trigger === 'emergency' || run.trigger === 'attest') throw new AlreadyInProgressError(secretId, run.id);
    // A run on its failure path is undoing its credential, perhaps waiting for consumers to take the
    // old one back: an emergency (a force above all) must not cut that short. A new run starts once it ends.
    if ((FAILURE_STEPS as readonly string[]).includes(run.step)) {
      throw new AlreadyInProgressError(secretId, run.id, `it is on its ${run.step} step; an emergency rotation can start once it ends`);
    }
    const policy = (await getSecret(client, secretId))?.policy;
    const graceUntil = graceEnd(
      { ...run, trigger: 'emergency' },
      // A secret row always carries its policy; 0 only guards a row written by hand.
      { graceMs: policy?.graceMs ?? 0, emergencyGraceMs: policy?.emergencyGraceMs ?? 0 },
    );
    const escalated = await markEscalated(client, run.id, { reason: req.reason, force: req.force ?? false, graceUntil });
    await appendAudit(client, {
      actor: req.actor,
      action: 'run.escalated',
      secretId,
      runId: run.id,
      reason: req.reason,
      detail: { from: run.trigger, to: 'emergency', force: req.force ?? false },
    });
    return escalated;
  });
}

/**
 * True when a pass from `lane` must leave `run` alone: a routine job whose run was escalated. The
 * run's job on the emergency queue owns it now.
 */
export function givesWay(lane: Lane | undefined, run: Pick<RunRow, 'trigger'>): boolean {
  return lane === 'routine' && run.trigger === 'emergency';
}

/** How long a routine run steps aside while an emergency needs capacity. */
export const ROUTINE_YIELD_MS = 250;
/** How soon an emergency job looks again when another worker holds its run's lease. */
const EMERGENCY_RECLAIM_MS = 250;

/** A moment past the holder's lease, so the claim finds it expired. */
const LEASE_EXPIRY_MARGIN_MS = 50;

/**
 * How long a job from `lane` waits before it tries again to claim a run whose lease another pass
 * holds: until that lease expires (`leaseLeftMs`, by the database's clock; a live holder renews it,
 * a dead one does not, and its run should resume then, not a whole lease later), never longer than
 * a lease; for an emergency, much sooner (the holder may be a routine pass finishing its step
 * before giving way).
 */
export function reclaimAfterMs(lane: Lane | undefined, leaseMs: number, leaseLeftMs: number | null = null): number {
  if (lane === 'emergency') return EMERGENCY_RECLAIM_MS;
  return leaseLeftMs === null ? leaseMs : Math.min(leaseMs, Math.max(0, leaseLeftMs) + LEASE_EXPIRY_MARGIN_MS);
}
/** Many routine runs ask at once; one answer serves them all for this long. */
const EMERGENCY_CHECK_TTL_MS = 100;
const emergencyCheck = new WeakMap<EngineDeps, { at: number; answer: Promise<boolean> }>();

/**
 * True when `run` should step aside at this step boundary. BullMQ priorities do not pre-empt
 * running jobs, and an emergency on its own queue still shares CPU and connections with every
 * routine run in flight: so routine runs step aside while an emergency needs capacity. The state
 * database answers for all workers.
 */
export async function mustStepAside(deps: EngineDeps, run: Pick<RunRow, 'trigger'>): Promise<boolean> {
  if (run.trigger === 'emergency') return false;
  const cached = emergencyCheck.get(deps);
  if (cached && Date.now() - cached.at < EMERGENCY_CHECK_TTL_MS) return cached.answer;
  const answer = emergencyNeedsCapacity(deps.pool).catch(() => false);
  emergencyCheck.set(deps, { at: Date.now(), answer });
  return answer;
}

export interface LaneWorkerOptions {
  /** BullMQ options shared by both lanes' workers. */
  worker: Omit<WorkerOptions, 'connection' | 'concurrency'>;
  /** @defaultValue 8 */
  concurrency?: number;
  /** @defaultValue 2 */
  emergencyConcurrency?: number;
}

/** One worker per lane, each on its lane's queue with its own concurrency. */
export function startLaneWorkers(
  kit: QueueKit,
  processorFor: (lane: Lane) => Processor<RunJobData>,
  opts: LaneWorkerOptions,
): Record<Lane, Worker<RunJobData>> {
  return {
    routine: kit.worker(LANE_QUEUES.routine, processorFor('routine'), { ...opts.worker, concurrency: opts.concurrency ?? 8 }),
    emergency: kit.worker(LANE_QUEUES.emergency, processorFor('emergency'), {
      ...opts.worker,
      concurrency: opts.emergencyConcurrency ?? 2,
    }),
  };
}

export interface EmergencyMonitorTiming {
  /** Between checks while the routine worker is paused or busy. @defaultValue 100 */
  everyMs?: number;
  /** Between checks while it is idle: a job it starts is checked for at once. @defaultValue 1000 */
  idleMs?: number;
  /** After a routine job started, how long the worker counts as busy. @defaultValue 10000 */
  busyMs?: number;
}

/**
 * While an emergency needs capacity anywhere, this process's routine worker takes no new jobs
 * (runs in flight step aside at their next boundary, see mustStepAside). Polls the state database,
 * so an emergency on any machine quiets routine work on all of them. The poll is quick only while
 * it matters: while the worker is paused (to resume it soon) or busy with routine jobs (to stop
 * taking more). An idle worker's check is slower, and it looks at once when a routine job starts,
 * so an idle rotor does not ask the state database ten times a second. Returns the stop function.
 */
export function monitorEmergencies(
  pool: pg.Pool,
  routine: Worker<RunJobData>,
  log: Logger,
  timing: EmergencyMonitorTiming = {},
): () => void {
  const { everyMs = 100, idleMs = 1_000, busyMs = 10_000 } = timing;
  let paused = false;
  let busy = false;
  let stopped = false;
  let lastJobAt = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(check, ms);
    timer.unref();
  };
  const check = () => {
    if (busy) return;
    busy = true;
    emergencyNeedsCapacity(pool)
      .then(async (needed) => {
        if (stopped) return;
        if (needed && !paused) {
          paused = true;
          await routine.pause(true);
        } else if (!needed && paused) {
          paused = false;
          await routine.resume();
        }
      })
      .catch((err: unknown) => log.debug({ err: (err as Error).message }, 'emergency check failed'))
      .finally(() => {
        busy = false;
        schedule(paused || performance.now() - lastJobAt < busyMs ? everyMs : idleMs);
      });
  };
  const onJob = () => {
    const idle = performance.now() - lastJobAt >= busyMs;
    lastJobAt = performance.now();
    if (idle && !busy) schedule(0);
  };
  routine.on('active', onJob);
  schedule(everyMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
    routine.off('active', onJob);
    if (paused) void routine.resume();
  };
}
