// Starting a run: the one path shared by the scheduler, `rotor rotate`, the dashboard and the API.
import type pg from 'pg';
import type { QueueKit } from '../queue/backend.js';
import { EMERGENCY_QUEUE, RUNS_QUEUE, RUN_JOB_OPTIONS } from '../queue/names.js';
import { createRun, type RunRow, type RunTrigger } from '../state/runs.js';

export interface RotationRequest {
  secretId: string;
  trigger: RunTrigger;
  actor: string;
  reason?: string | null;
  force?: boolean;
  /** Routine runs may be staggered; emergencies never are. */
  notBefore?: Date | null;
}

/** Creates the run (or throws AlreadyInProgressError) and enqueues its job, which carries only the run id. */
export async function requestRotation(pool: pg.Pool, kit: QueueKit, req: RotationRequest): Promise<RunRow> {
  const run = await createRun(pool, req);
  await enqueueRun(kit, run);
  return run;
}

export async function enqueueRun(kit: QueueKit, run: Pick<RunRow, 'id' | 'trigger' | 'notBefore'>, jobId = run.id): Promise<void> {
  const delay = run.notBefore ? Math.max(0, run.notBefore.getTime() - Date.now()) : 0;
  await kit
    .queue(run.trigger === 'emergency' ? EMERGENCY_QUEUE : RUNS_QUEUE)
    .add('run', { runId: run.id }, { ...RUN_JOB_OPTIONS, jobId, delay });
}
