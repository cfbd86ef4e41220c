// The scheduler: each tick marks overdue secrets, starts runs for due ones (staggered so that
// secrets on the same target never rotate in the same minute), and re-enqueues runs whose job was
// lost. Due dates come from the state database, so a tick only enqueues runs, never rotates.
import type { Worker } from 'bullmq';
import type pg from 'pg';
import { AlreadyInProgressError } from '../errors.js';
import type { Logger } from '../log.js';
import type { QueueKit, RunJobData } from '../queue/backend.js';
import { TICK_QUEUE, TICK_SCHEDULER_ID } from '../queue/names.js';
import { staleActiveRuns } from '../state/runs.js';
import { freezeAt } from '../policy/freeze.js';
import { placeOutsideFreezes } from '../policy/schedule.js';
import { deferDue, nextStartsByTarget, policiesWithFreezes, touchRun } from '../state/schedule.js';
import { findDueSecrets, markOverdue, type DueSecret } from '../state/secrets.js';
import { enqueueRun, requestRotation } from './request.js';

export interface TickOptions {
  /** At most this many runs started per tick. @defaultValue 500 */
  batch?: number;
  /** Due for longer than this without success: overdue. @defaultValue 1h */
  overdueToleranceMs?: number;
  /** An active run untouched this long has lost its job: enqueue it again. @defaultValue 5m */
  staleMs?: number;
  /** Spacing between runs on the same target. @defaultValue 60s */
  staggerMs?: number;
}

export interface TickResult {
  started: string[];
  /** Due but frozen: their next due time moved past the freeze, no run started. */
  frozen: string[];
  overdue: string[];
  requeued: string[];
}

export async function runTick(pool: pg.Pool, kit: QueueKit, log: Logger, now: Date, opts: TickOptions = {}): Promise<TickResult> {
  const staggerMs = opts.staggerMs ?? 60_000;
  const overdue = await markOverdue(pool, now, opts.overdueToleranceMs ?? 3_600_000);
  const found = await findDueSecrets(pool, now, opts.batch ?? 500);
  const frozen = await deferFrozen(pool, found, now);
  const due = found.filter((d) => !frozen.includes(d.id));
  const started: string[] = [];
  if (due.length) {
    const nextSlot = await nextStartsByTarget(pool, [...new Set(due.map((d) => d.targetKey))], now, staggerMs);
    for (const secret of due) {
      const slot = Math.max(now.getTime(), nextSlot.get(secret.targetKey) ?? 0);
      nextSlot.set(secret.targetKey, slot + staggerMs);
      try {
        await requestRotation(pool, kit, {
          secretId: secret.id,
          trigger: 'schedule',
          actor: 'scheduler',
          reason: `due since ${secret.nextDueAt.toISOString()}`,
          notBefore: slot > now.getTime() ? new Date(slot) : null,
        });
        started.push(secret.id);
      } catch (err) {
        if (!(err instanceof AlreadyInProgressError)) throw err;
      }
    }
  }
  const requeued: string[] = [];
  for (const run of await staleActiveRuns(pool, opts.staleMs ?? 300_000, now)) {
    // A fresh job id: the lost job's id may still be held by a failed job entry.
    await enqueueRun(kit, run, `${run.id}-r${now.getTime()}`);
    await touchRun(pool, run.id);
    requeued.push(run.id);
  }
  if (started.length || overdue.length || requeued.length || frozen.length) {
    log.info({ started: started.length, overdue: overdue.length, requeued: requeued.length, frozen: frozen.length }, 'scheduler tick');
  }
  return { started, frozen, overdue, requeued };
}

/**
 * Due secrets inside a freeze get no run: their next due time moves to the first time after the
 * freeze (and inside their window). Returns their ids. Due times are computed past freezes
 * already; this catches what became due before a freeze began and was not started by then.
 */
async function deferFrozen(pool: pg.Pool, due: readonly DueSecret[], now: Date): Promise<string[]> {
  const policies = await policiesWithFreezes(
    pool,
    due.map((d) => d.id),
  );
  const frozen: string[] = [];
  for (const [id, policy] of policies) {
    if (!freezeAt(policy.freezes, now.getTime())) continue;
    await deferDue(pool, id, now, new Date(placeOutsideFreezes(policy, now.getTime())));
    frozen.push(id);
  }
  return frozen;
}

/**
 * Ticks every `everyMs` through a BullMQ job scheduler: one tick at a time across all processes
 * that run a scheduler, and a tick whose worker died is retried by BullMQ.
 */
export async function startScheduler(
  pool: pg.Pool,
  kit: QueueKit,
  log: Logger,
  now: () => Date,
  opts: { everyMs: number } & TickOptions,
): Promise<Worker<RunJobData>> {
  await kit.queue(TICK_QUEUE).raw.upsertJobScheduler(TICK_SCHEDULER_ID, { every: opts.everyMs }, { name: 'tick', data: {} });
  return kit.worker(
    TICK_QUEUE,
    async () => {
      await runTick(pool, kit, log, now(), opts);
    },
    { concurrency: 1 },
  );
}
