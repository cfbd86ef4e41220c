// Starting a run: the one path shared by the scheduler, `rotor rotate`, the dashboard and the API.
import type pg from 'pg';
import type { QueueKit } from '../queue/backend.js';
import { RUN_JOB_OPTIONS } from '../queue/names.js';
import { AlreadyInProgressError } from '../errors.js';
import { createRun, type NewRun, type RunRow } from '../state/runs.js';
import { LANE_QUEUES, escalateRun, escalationJobId, laneOf } from './emergency.js';

/** Who asks for which secret, why; routine runs may be staggered (notBefore), emergencies never are. */
export type RotationRequest = NewRun;

/**
 * Creates the run (or throws AlreadyInProgressError) and enqueues its job, which carries only the
 * run id. An emergency asked for while a routine run is active escalates that run instead (see
 * escalateRun in emergency.ts): the caller gets it back with trigger `emergency`.
 */
export async function requestRotation(pool: pg.Pool, kit: QueueKit, req: RotationRequest): Promise<RunRow & { escalated?: true }> {
  for (let tries = 0; ; tries++) {
    try {
      const run = await createRun(pool, req);
      await enqueueRun(kit, run);
      return run;
    } catch (err) {
      if (!(err instanceof AlreadyInProgressError) || req.trigger !== 'emergency' || tries > 0) throw err;
      const escalated = await escalateRun(pool, req.secretId, { actor: req.actor, reason: req.reason ?? null, force: req.force });
      if (!escalated) continue; // it ended in between: create the emergency run after all
      // A job on the emergency queue takes the run over now; its routine job gives way (processRun).
      await enqueueRun(kit, escalated, escalationJobId(escalated.id));
      return { ...escalated, escalated: true };
    }
  }
}

/** Enqueues the run's job on its lane's queue, delayed until its notBefore. */
export async function enqueueRun(kit: QueueKit, run: Pick<RunRow, 'id' | 'trigger' | 'notBefore'>, jobId = run.id): Promise<void> {
  const delay = run.notBefore ? Math.max(0, run.notBefore.getTime() - Date.now()) : 0;
  await kit.queue(LANE_QUEUES[laneOf(run.trigger)]).add('run', { runId: run.id }, { ...RUN_JOB_OPTIONS, jobId, delay });
}
