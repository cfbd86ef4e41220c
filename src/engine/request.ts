// Starting a run: the one path shared by the scheduler, `rotor rotate`, the dashboard and the API.
import type pg from 'pg';
import type { QueueKit } from '../queue/backend.js';
import { RUN_JOB_OPTIONS } from '../queue/names.js';
import { AlreadyInProgressError, InvalidInputError } from '../errors.js';
import { appendAudit } from '../state/audit.js';
import { getSecret } from '../state/secrets.js';
import { MANUAL_ROTATOR } from '../rotator/catalogue.js';
import { freezeDecision, refuseFrozen } from './freeze.js';
import { createRun, type NewRun, type RunRow } from '../state/runs.js';
import { LANE_QUEUES, escalateRun, escalationJobId, laneOf } from './emergency.js';

/**
 * Who asks for which secret, why; routine runs may be staggered (notBefore), emergencies never are.
 * During a freeze only an emergency or an attested rotation with `overrideFreeze` starts (see freeze.ts).
 */
export type RotationRequest = NewRun & {
  overrideFreeze?: boolean | undefined;
  /**
   * What must be in place before the run's job exists, which carries the run id only: an attested
   * rotation's value, staged in the store (attest.ts). The job is queued even when it throws, so
   * the run's first step finds what is missing and the run ends in needs-attention, audited; the
   * error is thrown on to the caller.
   */
  prepare?: ((run: RunRow) => Promise<void>) | undefined;
};

/**
 * Creates the run (or throws AlreadyInProgressError) and enqueues its job, which carries only the
 * run id. An emergency asked for while a routine run is active escalates that run instead (see
 * escalateRun in emergency.ts): the caller gets it back with trigger `emergency`.
 */
export async function requestRotation(pool: pg.Pool, kit: QueueKit, req: RotationRequest): Promise<RunRow & { escalated?: true }> {
  if (req.overrideFreeze && req.trigger !== 'emergency' && req.trigger !== 'attest') {
    throw new InvalidInputError('--override-freeze is only for emergency rotations and rotor attest --value-stdin');
  }
  // The scheduler defers frozen secrets and skips manual ones itself; a person's request is checked here.
  const policy = req.trigger === 'schedule' ? undefined : (await getSecret(pool, req.secretId))?.policy;
  // A manual secret's one kind of run is the attested rotation, and only a manual secret has one.
  if (policy?.rotator.name === MANUAL_ROTATOR && req.trigger !== 'attest') {
    throw new InvalidInputError(`${req.secretId} is rotated by a person (rotator: manual): rotor starts no run for it`, {
      hint: `rotate it where it is issued, then record it with: rotor attest ${req.secretId} --reason TEXT (add --value-stdin to hand rotor the new value for its consumers)`,
    });
  }
  if (policy && policy.rotator.name !== MANUAL_ROTATOR && req.trigger === 'attest') {
    throw new InvalidInputError(`${req.secretId} is rotated by rotor (rotator: ${policy.rotator.name}), not by a person`, {
      hint: `attest is for rotator: manual; rotate it with: rotor rotate ${req.secretId}`,
    });
  }
  const freeze = req.trigger === 'schedule' ? ({ frozen: false } as const) : freezeDecision(policy, new Date(), req);
  refuseFrozen(req.secretId, freeze, req.trigger);
  const started = async (run: RunRow) => {
    if (freeze.frozen) {
      await appendAudit(pool, {
        actor: req.actor,
        action: 'run.freeze-overridden',
        secretId: req.secretId,
        runId: run.id,
        reason: req.reason ?? null,
        detail: { freeze: freeze.text, freezeReason: freeze.reason, until: freeze.until.toISOString() },
      });
    }
  };
  for (let tries = 0; ; tries++) {
    try {
      const run = await createRun(pool, req);
      await started(run);
      try {
        await req.prepare?.(run);
      } finally {
        await enqueueRun(kit, run, run.id, true); // the run was created just now: no job of its id exists yet
      }
      return run;
    } catch (err) {
      if (!(err instanceof AlreadyInProgressError) || req.trigger !== 'emergency' || tries > 0) throw err;
      const escalated = await escalateRun(pool, req.secretId, { actor: req.actor, reason: req.reason ?? null, force: req.force });
      if (!escalated) continue; // it ended in between: create the emergency run after all
      // A job on the emergency queue takes the run over now; its routine job gives way (processRun).
      await started(escalated);
      await enqueueRun(kit, escalated, escalationJobId(escalated.id));
      return { ...escalated, escalated: true };
    }
  }
}

/**
 * Enqueues the run's job on its lane's queue, delayed until its notBefore. A job of that id that
 * failed every attempt is retried at once (QueueHandle.add), unless `fresh` says none can exist;
 * its pass waits out notBefore itself.
 */
export async function enqueueRun(
  kit: QueueKit,
  run: Pick<RunRow, 'id' | 'trigger' | 'notBefore'>,
  jobId = run.id,
  fresh = false,
): Promise<void> {
  const delay = run.notBefore ? Math.max(0, run.notBefore.getTime() - Date.now()) : 0;
  await kit.queue(LANE_QUEUES[laneOf(run.trigger)]).add('run', { runId: run.id }, { ...RUN_JOB_OPTIONS, jobId, delay }, fresh);
}
