// Runs one pass over a run: takes its lease, executes steps in order until the run ends or must
// wait (grace, confirmation, backoff), recording each step before and after it runs.
import { randomBytes } from 'node:crypto';
import { PermanentError, coerceError } from '../errors.js';
import { redactError } from '../redact.js';
import { appendAudit } from '../state/audit.js';
import {
  ACTIVE_STATES,
  LeaseLostError,
  claimRun,
  beginStep,
  completeStep,
  endStep,
  getRun,
  leaseLeftMs,
  markWaiting,
  releaseLease,
  renewLease,
  updateRun,
  type RunOutcome,
  type RunRow,
  type RunState,
} from '../state/runs.js';
import { inTransaction } from '../state/db.js';
import { deferAfterFailure } from '../state/secrets.js';
import { backoffMs } from './backoff.js';
import type { DelayFn, EngineDeps } from './deps.js';
import { ROUTINE_YIELD_MS, givesWay, mustStepAside, reclaimAfterMs, type Lane } from './emergency.js';
import { discard, rollback, type FailureResult } from './failure.js';
import { buildRunContext, type RunContext, type ValueCache } from './run-context.js';
import { HANDLERS } from './step-handlers.js';
import { ForbiddenTransitionError, assertTransition } from './transitions.js';
import type { STEPS } from './steps.js';
import { isPromoted, nextStep, type Step } from './steps.js';

export interface PassOptions {
  delay: DelayFn;
  signal: AbortSignal;
  /** The queue the job came from. A routine job gives way to a run escalated to an emergency. */
  lane?: Lane;
}

/** One pass: its options and who holds the run's lease during it. */
interface Pass extends PassOptions {
  leaseOwner: string;
  /** Set once a write gave the lease up with the run's end (the finish step's completion). */
  leaseReleased?: boolean;
}

export async function processRun(deps: EngineDeps, runId: string, passOpts: PassOptions): Promise<void> {
  // The lease belongs to this pass, not to the worker: two jobs of one run (the reaper's copy next to
  // the original, both due at once) can land in one process, and with the worker's id as owner the
  // second would "re-claim" the lease the first holds and run the same steps at the same time.
  const owner = `${deps.workerId}:${randomBytes(4).toString('hex')}`;
  const opts: Pass = { ...passOpts, leaseOwner: owner };
  const claimed = await claimRun(deps.pool, runId, owner, deps.leaseMs, opts.lane === 'routine');
  if (!claimed) {
    const current = await getRun(deps.pool, runId);
    if (!current || !ACTIVE_STATES.includes(current.state)) return; // ended: nothing to do
    if (givesWay(opts.lane, current)) return; // escalated: its emergency job owns it
    // Another pass holds the lease; look again once it expires (an emergency sooner).
    const left = opts.lane === 'emergency' ? null : await leaseLeftMs(deps.pool, runId);
    return opts.delay(new Date(deps.now().getTime() + reclaimAfterMs(opts.lane, deps.leaseMs, left)));
  }
  const { secret: secretRow, ...claimedRun } = claimed;
  let run: RunRow = claimedRun;
  // A renewal that finds the lease gone means this pass stalled past it and another claimed the run:
  // the step in flight is told (its signal aborts) and the pass stops at the next write or boundary.
  const lost = new AbortController();
  const renew = setInterval(() => {
    renewLease(deps.pool, runId, owner, deps.leaseMs).then(
      (held) => {
        if (!held && !lost.signal.aborted) lost.abort(new LeaseLostError(runId, owner));
      },
      () => undefined, // the state database is away: the next renewal or write decides
    );
  }, deps.leaseMs / 3);
  const signal = AbortSignal.any([opts.signal, lost.signal]);
  try {
    const waitFor = [run.notBefore, run.waitUntil].find((d) => d && d.getTime() > deps.now().getTime());
    if (waitFor) return await pause(deps, run, waitFor, opts);
    if (!secretRow) throw new PermanentError(`run ${run.id} names secret ${run.secretId}, which is not in the state database`);
    const values: ValueCache = new Map();
    // The step the last completion started (its row's id), when it started one: see runStep.
    let begun: number | null = null;
    while (run.step !== 'finished') {
      if (lost.signal.aborted) {
        if (begun !== null) await abandonStep(deps, begun, "this pass lost the run's lease before the step ran");
        throw lost.signal.reason;
      }
      if (begun === null && (await mustStepAside(deps, run))) {
        // Give the CPU and connections to the emergency: routine work resumes in a moment, no attempt spent.
        return await pause(deps, run, new Date(deps.now().getTime() + ROUTINE_YIELD_MS), opts);
      }
      let rc: RunContext;
      try {
        rc = buildRunContext(deps, run, secretRow.policy, signal, values, secretRow.lastSuccessAt === null);
      } catch (thrown) {
        // An unknown rotator or store, or parameters it rejects: no step can run, so no retry can
        // help. Ending the run here (not failing the job) keeps the reaper from re-enqueueing it forever.
        if (begun !== null) await abandonStep(deps, begun, 'the run cannot proceed');
        await cannotRun(deps, run, owner, redactError(coerceError(thrown)));
        return;
      }
      const outcome = await runStep(rc, opts, begun);
      if (outcome === 'ended') return;
      // A completed step returns the run as it wrote it (and the next step, when it started it);
      // after a failure it is read again.
      if (outcome === 'continue') {
        run = (await getRun(deps.pool, runId))!;
        begun = null;
      } else {
        const { nextStepId, ...advanced } = outcome;
        run = advanced;
        begun = nextStepId;
      }
      if (givesWay(opts.lane, run)) return; // escalated meanwhile: hand over at this boundary (nothing was started)
    }
  } catch (err) {
    if (!(err instanceof LeaseLostError)) throw err;
    // Not a failure: the run's new holder has its own job and goes on from what was recorded.
    deps.log.warn({ runId, err: err.message }, 'pass stopped: lease lost');
  } finally {
    clearInterval(renew);
    if (!opts.leaseReleased) await releaseLease(deps.pool, runId, owner).catch(() => undefined);
  }
}

async function pause(deps: EngineDeps, run: RunRow, until: Date, opts: Pass): Promise<never> {
  moveTo(run, 'waiting');
  await markWaiting(deps.pool, run.id, until, run.trigger, opts.leaseOwner);
  await releaseLease(deps.pool, run.id, opts.leaseOwner);
  try {
    return await opts.delay(until);
  } catch (err) {
    if (isDelayed(err)) throw err;
    // The job could not be moved (its lock was lost while Redis restarted, and another worker may
    // have finished the run with it since). That is no failure of the step: counting it as one
    // would call pause() again and mark a run another pass had finished as waiting once more.
    throw new JobLostError(`run ${run.id}: its job could not be delayed (${(err as Error).message})`, { cause: err });
  }
}

/** The queue job of a pass is gone; the run's state is already recorded, so the pass just ends. */
class JobLostError extends Error {
  override name = 'JobLostError';
}

/**
 * Runs the run's current step once; 'ended' when the run reached a terminal state, the run as it
 * now is after a step that succeeded, 'continue' when the run must be read again. `begun` is the
 * step's row when the last step's completion started it (its attempt already counted).
 */
async function runStep(
  rc: RunContext,
  opts: Pass,
  begun: number | null,
): Promise<(RunRow & { nextStepId: number | null }) | 'continue' | 'ended'> {
  const { deps, run } = rc;
  const owner = opts.leaseOwner;
  const step = run.step as Step;
  let attempt: number;
  let stepId: number;
  if (begun !== null) {
    attempt = run.stepAttempt;
    stepId = begun;
  } else {
    attempt = run.stepAttempt + 1;
    if (run.stepAttempt >= rc.secret.retry.attempts) {
      // Every attempt allowed was started and none recorded an end: each time the worker died inside
      // the step (killed, out of memory, a rotator that crashes the process). Another try would only
      // loop, so the run fails over to discard or rollback as if the last attempt had failed.
      const err = new Error(`${step} never finished: the worker stopped during each of its ${run.stepAttempt} attempts`);
      return onStepFailure(rc, step, run.stepAttempt, err, err, opts);
    }
    // Counted before the step runs, so a worker that dies inside a step still spends an attempt:
    // a crash-looping rotation ends in needs-attention instead of looping forever.
    stepId = await beginStep(
      deps.pool,
      run.id,
      owner,
      { state: moveTo(run, 'running'), stepAttempt: attempt, waitUntil: null, totalAttempts: 1 },
      step,
      attempt,
    );
    rc.run = { ...run, stepAttempt: attempt };
  }
  try {
    if (step === 'discard' || step === 'rollback') {
      const result: FailureResult =
        step === 'discard' ? { kind: 'ended', outcome: 'discarded', detail: await discard(rc) } : await rollback(rc);
      if (result.kind === 'wait') return await waitInStep(rc, stepId, attempt, result, opts);
      // A rollback that had to keep the new credential did not do all it should: its step says why.
      await endStep(deps.pool, stepId, result.error ? 'failed' : 'succeeded', { detail: result.detail, error: result.error });
      await finishFailed(rc, owner, result.outcome, result.error);
      return 'ended';
    }
    const handler = HANDLERS[step];
    if (!handler) throw new PermanentError(`run ${run.id} is at unknown step ${step}`);
    const result = await handler(rc);
    if (result.kind === 'wait') return await waitInStep(rc, stepId, attempt, result, opts);
    if (result.patch?.state) moveTo(run, result.patch.state);
    const following = step === 'finish' ? 'finished' : nextStep(step as (typeof STEPS)[number]);
    // The next step starts in the same statement when this pass goes straight on to it (a routine
    // run stepping aside for an emergency does not): one round trip per step boundary, not two.
    // With a single attempt allowed, a death at the boundary would fail the next step unrun: start it apart.
    const goesOn = following !== 'finished' && !result.patch?.state && rc.secret.retry.attempts > 1 && !(await mustStepAside(deps, run));
    // One statement: a worker killed in between must not leave a change of state with no audit row
    // (invariant 6), which the chaos suite caught. The finish step's `done` comes in the patch.
    const advanced = await completeStep(
      deps.pool,
      stepId,
      result.detail,
      run.id,
      owner,
      // The run's end gives the lease up in the same write.
      { ...result.patch, step: following, stepAttempt: 0, ...(step === 'finish' ? { releaseLease: true as const } : {}) },
      {
        actor: deps.workerId,
        action: step === 'finish' ? 'run.done' : `step.${step}`,
        secretId: run.secretId,
        detail: { attempt, ...(result.detail ?? {}) },
      },
      goesOn ? { routineLane: opts.lane === 'routine' } : undefined,
    );
    if (step === 'finish') opts.leaseReleased = true;
    await deps.onStepDone?.(run.id, step);
    return step === 'finish' ? 'ended' : advanced;
  } catch (thrown) {
    // A forbidden transition is a bug in rotor: no retry of the step can mend it.
    if (isDelayed(thrown) || thrown instanceof JobLostError || thrown instanceof ForbiddenTransitionError) throw thrown;
    // A write refused it, or a renewal found it gone (the signal's reason) and the step gave up.
    const lost = thrown instanceof LeaseLostError ? thrown : (rc.rotatorCtx.signal.reason as unknown);
    if (lost instanceof LeaseLostError) {
      // What the step did stays recorded as unfinished; the run's new holder runs it again (steps are idempotent).
      await endStep(deps.pool, stepId, 'failed', { error: "this pass lost the run's lease during the step" }).catch(() => undefined);
      throw lost;
    }
    const err = redactError(coerceError(thrown));
    await endStep(deps.pool, stepId, 'failed', { error: err.message });
    return onStepFailure(rc, step, attempt, thrown, err, opts);
  }
}

/** Ends a step the last completion started but this pass will not run: recorded as failed, with why. */
async function abandonStep(deps: EngineDeps, stepId: number, why: string): Promise<void> {
  await endStep(deps.pool, stepId, 'failed', { error: why }).catch(() => undefined);
}

/** Ends a step that must wait (grace, a confirmation, a drain): recorded, its attempt given back, the job delayed. */
async function waitInStep(
  rc: RunContext,
  stepId: number,
  attempt: number,
  wait: { until: Date; detail?: Record<string, unknown> },
  opts: Pass,
): Promise<never> {
  const { deps, run } = rc;
  await endStep(deps.pool, stepId, 'waiting', { detail: wait.detail });
  // Waiting is not an attempt: give it back so only failures (and deaths inside a step) count.
  await updateRun(deps.pool, run.id, opts.leaseOwner, { stepAttempt: attempt - 1, totalAttempts: -1 });
  return pause(deps, run, wait.until, opts);
}

async function onStepFailure(
  rc: RunContext,
  step: Step,
  attempt: number,
  thrown: unknown,
  err: Error,
  opts: Pass,
): Promise<'continue' | 'ended'> {
  const { deps, run, secret } = rc;
  const permanent = thrown instanceof PermanentError;
  const exhausted = attempt >= secret.retry.attempts;
  rc.deps.log.warn({ secretId: run.secretId, runId: run.id, step, attempt, permanent, err: err.message }, 'step failed');
  if (step === 'discard' || step === 'rollback') {
    if (!exhausted) return pause(deps, run, new Date(deps.now().getTime() + backoffMs(secret.retry, attempt)), opts);
    await updateRun(deps.pool, run.id, opts.leaseOwner, { error: `${run.error ?? ''}; ${step} failed: ${err.message}` });
    await finishFailed(rc, opts.leaseOwner, 'rollback-failed');
    return 'ended';
  }
  if (permanent || exhausted) {
    const why = `${step} failed${permanent ? '' : ` after ${attempt} attempts`}: ${reasonWithHint(err)}`;
    const failureStep: Step = isPromoted(step) || step === 'promote' ? 'rollback' : 'discard';
    await inTransaction(deps.pool, async (c) => {
      await updateRun(c, run.id, opts.leaseOwner, { step: failureStep, stepAttempt: 0, error: why });
      await appendAudit(c, { actor: deps.workerId, action: `run.${failureStep}`, secretId: run.secretId, runId: run.id, reason: why });
    });
    return 'continue';
  }
  return pause(deps, run, new Date(deps.now().getTime() + backoffMs(secret.retry, attempt)), opts);
}

/** How long the scheduler leaves a secret alone after its run needed attention. */
const FAILURE_DEFER_MS = 3_600_000;

/** Ends a run that failed; `more` (what its failure step could not do) is added to its error. */
async function finishFailed(rc: RunContext, owner: string, outcome: Exclude<RunOutcome, 'rotated'>, more?: string): Promise<void> {
  const { deps, run } = rc;
  const latest = await getRun(deps.pool, run.id);
  const error = more ? `${latest?.error ?? ''}; ${more}` : (latest?.error ?? null);
  await inTransaction(deps.pool, async (c) => {
    await updateRun(c, run.id, owner, {
      state: moveTo(run, 'needs-attention'),
      step: 'finished',
      outcome,
      finishedAt: deps.now(),
      ...(more ? { error } : {}),
    });
    await deferAfterFailure(c, run.secretId, FAILURE_DEFER_MS);
    await appendAudit(c, {
      actor: deps.workerId,
      action: 'run.needs-attention',
      secretId: run.secretId,
      runId: run.id,
      reason: error,
      detail: { outcome },
    });
  });
}

/** The message with its hint: what the operator reading `rotor status` needs next travels with the reason. */
function reasonWithHint(err: Error): string {
  const hint = (err as Error & { hint?: unknown }).hint;
  return typeof hint === 'string' ? `${err.message} (${hint})` : err.message;
}

async function cannotRun(deps: EngineDeps, run: RunRow, owner: string, err: Error): Promise<void> {
  const why = `cannot run: ${reasonWithHint(err)}`;
  const touched = run.step !== 'create' || run.stepAttempt > 0;
  deps.log.error({ secretId: run.secretId, runId: run.id, err: why }, 'run cannot proceed');
  await inTransaction(deps.pool, async (c) => {
    await updateRun(c, run.id, owner, {
      state: moveTo(run, 'needs-attention'),
      step: 'finished',
      error: why,
      finishedAt: deps.now(),
      // Before create nothing was touched; later, the credential state needs a person to look.
      outcome: touched ? 'rollback-failed' : 'discarded',
    });
    await deferAfterFailure(c, run.secretId, FAILURE_DEFER_MS);
    await appendAudit(c, { actor: deps.workerId, action: 'run.needs-attention', secretId: run.secretId, runId: run.id, reason: why });
  });
}

/**
 * The state a pass moves its run to, checked against the table of transitions. `run.state` is what
 * the pass last read while holding the lease, and only the lease's holder changes a run's state.
 */
function moveTo<S extends RunState>(run: Pick<RunRow, 'id' | 'state'>, to: S): S {
  assertTransition(run.id, run.state, to);
  return to;
}

function isDelayed(err: unknown): boolean {
  return err instanceof Error && err.name === 'DelayedError';
}
