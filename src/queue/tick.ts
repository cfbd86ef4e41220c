// One scheduler tick: mark overdue secrets, start runs for due ones (staggered so that secrets on
// the same target never rotate in the same minute), and re-enqueue runs whose job was lost.
import type pg from 'pg';
import { AlreadyInProgressError } from '../errors.js';
import type { Logger } from '../log.js';
import { enqueueRun, requestRotation } from '../engine/request.js';
import { staleActiveRuns } from '../state/runs.js';
import { findDueSecrets, markOverdue } from '../state/secrets.js';
import type { QueueKit } from './backend.js';

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
  overdue: string[];
  requeued: string[];
}

export async function runTick(pool: pg.Pool, kit: QueueKit, log: Logger, now: Date, opts: TickOptions = {}): Promise<TickResult> {
  const staggerMs = opts.staggerMs ?? 60_000;
  const overdue = await markOverdue(pool, now, opts.overdueToleranceMs ?? 3_600_000);
  const due = await findDueSecrets(pool, now, opts.batch ?? 500);
  const started: string[] = [];
  if (due.length) {
    const nextSlot = await lastStartsByTarget(pool, [...new Set(due.map((d) => d.targetKey))], now, staggerMs);
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
    await pool.query('update runs set updated_at = now() where id = $1', [run.id]);
    requeued.push(run.id);
  }
  if (started.length || overdue.length || requeued.length) {
    log.info({ started: started.length, overdue: overdue.length, requeued: requeued.length }, 'scheduler tick');
  }
  return { started, overdue, requeued };
}

/** For each target, the earliest moment a new run may start: one minute after the last one began. */
async function lastStartsByTarget(pool: pg.Pool, targets: string[], now: Date, staggerMs: number): Promise<Map<string, number>> {
  const r = await pool.query<{ target: string; last: Date }>(
    `select s.target_key as target, max(coalesce(r.not_before, r.created_at)) as last
     from runs r join secrets s on s.id = r.secret_id
     where s.target_key = any($1::text[]) and coalesce(r.not_before, r.created_at) > $2
     group by s.target_key`,
    [targets, new Date(now.getTime() - staggerMs)],
  );
  return new Map(r.rows.map((row) => [row.target, row.last.getTime() + staggerMs]));
}
