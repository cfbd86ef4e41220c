// Starting a run: the one path shared by the scheduler, `rotor rotate`, the dashboard and the API.
import type pg from 'pg';
import type { QueueKit } from '../queue/backend.js';
import { EMERGENCY_QUEUE, RUNS_QUEUE, RUN_JOB_OPTIONS } from '../queue/names.js';
import { createRun, type NewRun, type RunRow } from '../state/runs.js';

/** Who asks for which secret, why; routine runs may be staggered (notBefore), emergencies never are. */
export type RotationRequest = NewRun;

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
