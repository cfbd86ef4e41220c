// The body of each step. Each is idempotent: a worker killed at any instant is replaced by another
// that runs the same step again and converges to the same end.
import { PermanentError } from '../errors.js';
import { redactError, trackSecret } from '../redact.js';
import { getSecret, recordSuccess } from '../state/secrets.js';
import { lastKeptByRollback, oldInUsePatch, recordOldInUse, type RunPatch } from '../state/runs.js';
import { PREVIOUS_FIELD } from '../rotator/contract.js';
import { adoptAttested } from './attest.js';
import { confirmWave, consumerCtx, noticeFor, notifyWave, revokeNoticeAt, wavesOf } from './consumers.js';
import { graceEnd } from './emergency.js';
import { pollAt, type RunContext } from './run-context.js';
import type { Step } from './steps.js';

export type StepResult =
  { kind: 'next'; patch?: RunPatch; detail?: Record<string, unknown> } | { kind: 'wait'; until: Date; detail?: Record<string, unknown> };

type Handler = (rc: RunContext) => Promise<StepResult>;

const next = (patch?: RunPatch, detail?: Record<string, unknown>): StepResult => ({ kind: 'next', patch, detail });

/** Version ids are the run id plus the create attempt: a retried create gets a fresh credential. */
function versionIdFor(runId: string, attempt: number): string {
  return `${runId}-${attempt}`;
}

const create: Handler = async (rc) => {
  if (rc.run.trigger === 'attest') {
    // A person's value, staged before the run's job existed: adopted, never generated (attest.ts).
    const { newVersion, oldVersion } = await adoptAttested(rc);
    return next({ newVersion, oldVersion }, { version: newVersion, attested: true });
  }
  const { run, store, location, rotator, rotatorCtx } = rc;
  const current = await store.get(location, 'CURRENT');
  if (current) {
    trackSecret(current.value);
    rc.remember(current.versionId, current.value); // revoke's old credential, should this pass get there
  }
  if (rotator.preflight) await rotator.preflight(rotatorCtx, current?.value ?? null);
  await refuseKeptByRollback(rc);

  const versionId = versionIdFor(run.id, run.stepAttempt);
  const pending = await store.get(location, 'PENDING');
  if (pending && pending.versionId !== versionId) {
    if (!pending.versionId.startsWith(run.id)) {
      throw new PermanentError(
        `the ${store.backend} store holds PENDING version ${pending.versionId} from another rotation of ${run.secretId}`,
        { hint: `an earlier rotation did not finish; clear it with: rotor repair ${run.secretId}` },
      );
    }
    // An earlier attempt of this run staged (and maybe applied) a credential: make it stop working
    // and drop it, so no credential is left behind that nobody tracks (invariant 8; on a first
    // rotation nothing of rotor's is kept).
    trackSecret(pending.value);
    await rotator.revoke(rotatorCtx, pending.value, current?.value ?? null);
    await store.discardPending(location, pending.versionId);
  }
  let value = pending?.versionId === versionId ? pending.value : null;
  if (!value) {
    value = await rotator.generate(rotatorCtx, current?.value ?? null);
    trackSecret(value);
    // Stored before it is applied: a credential that works on the target is never untracked.
    await store.putPending(location, versionId, value);
  }
  rc.remember(versionId, value);
  await rotator.apply(rotatorCtx, value, current?.value ?? null);
  return next({ newVersion: versionId, oldVersion: current?.versionId ?? null }, { version: versionId });
};

/**
 * A rollback whose consumer did not confirm the old version kept the new credential working, as
 * PREVIOUS (failure.ts). A promote would push it out of the store while it still works on the target
 * (invariant 8), so no create runs until `rotor repair` took it back.
 */
async function refuseKeptByRollback(rc: RunContext): Promise<void> {
  const kept = await lastKeptByRollback(rc.deps.pool, rc.run.secretId);
  const previous = kept && (await rc.store.get(rc.location, 'PREVIOUS'));
  if (previous) trackSecret(previous.value);
  if (!kept || previous?.versionId !== kept.newVersion) return;
  throw new PermanentError(
    `version ${kept.newVersion} of ${rc.run.secretId} still works on the target: run ${kept.runId} rolled back without revoking it, since a consumer did not confirm the old version`,
    { hint: `once every consumer uses the CURRENT version, take it back with: rotor repair ${rc.run.secretId}` },
  );
}

const verifyNew: Handler = async (rc) => {
  const detail = await rc.rotator.verify(rc.rotatorCtx, await rc.value(requireVersion(rc, 'newVersion')));
  return next(undefined, detail ?? undefined);
};

const promote: Handler = async (rc) => {
  await rc.store.promote(rc.location, requireVersion(rc, 'newVersion'));
  const promotedAt = rc.run.promotedAt ?? rc.deps.now();
  const graceUntil = graceEnd({ trigger: rc.run.trigger, promotedAt, graceUntil: null }, rc.secret);
  return next({ promotedAt, graceUntil }, { graceMs: graceUntil.getTime() - promotedAt.getTime() });
};

/**
 * Tells each wave the new version and waits for it to confirm before the next, each consumer up to
 * its confirmTimeout. A forced run waits the same way, so waves still go one after the other, but
 * where an unforced run would roll back (a consumer said it never will, or its time is up) it goes
 * on without that consumer: one that never answers must not hold a leaked credential's revoke
 * forever. Those it went on without are recorded in the step's detail.
 */
const distribute: Handler = async (rc) => {
  const version = requireVersion(rc, 'newVersion');
  const value = await rc.value(version);
  const forcedPast: string[] = [];
  for (const wave of wavesOf(rc.secret)) {
    const marks = await notifyWave(rc, wave, noticeFor(rc, version, revokeNoticeAt(rc)), value);
    const answer = await confirmWave(rc, wave, marks);
    if (answer.unconfirmed.length)
      return { kind: 'wait', until: pollAt(rc), detail: { wave: wave.number, unconfirmed: answer.unconfirmed } };
    forcedPast.push(...answer.forcedPast);
  }
  return next(undefined, forcedDetail(forcedPast));
};

/** A forced run's step detail: the consumers it went on without. */
function forcedDetail(unconfirmed: readonly string[]): Record<string, unknown> | undefined {
  return unconfirmed.length ? { forced: true, unconfirmed } : undefined;
}

/** How many times the old credential's use is sampled during grace (for staleness figures). */
const GRACE_SAMPLES = 5;

const grace: Handler = async (rc) => {
  // The rule read again here: a run escalated while its promote ran wrote the routine grace.
  const until = graceEnd(rc.run, rc.secret);
  const now = rc.deps.now().getTime();
  // Grace already over: verify-consumers checks the old credential's use next anyway.
  if (!until || until.getTime() <= now) return next();
  const sessions = await sampleOldInUse(rc);
  // Wake a few times during grace to see when consumers let go of the old credential.
  const span = until.getTime() - (rc.run.promotedAt ?? until).getTime();
  const step = sessions === null ? Infinity : Math.max(rc.deps.pollMs, span / GRACE_SAMPLES);
  return { kind: 'wait', until: new Date(Math.min(until.getTime(), now + step)), detail: { graceUntil: until, oldSessions: sessions } };
};

/**
 * Best effort during grace: how many sessions still use the old credential, recorded on the run.
 * Null when the rotator cannot tell. A failing check only costs a sample, never the run.
 */
async function sampleOldInUse(rc: RunContext): Promise<number | null> {
  const { rotator, rotatorCtx, run } = rc;
  if (!run.oldVersion || !rotator.inUse || !rotator.traits(rotatorCtx.params, rotatorCtx.secretId).drain) return null;
  try {
    const sessions = await rotator.inUse(rotatorCtx, await rc.value(run.oldVersion));
    await recordOldInUse(rc.deps.pool, run.id, sessions, rc.deps.now());
    return sessions;
  } catch (err) {
    rotatorCtx.log.warn({ err: redactError(err as Error).message }, "could not sample the old credential's sessions");
    return null;
  }
}

const verifyConsumers: Handler = async (rc) => {
  const { rotator, rotatorCtx, secret } = rc;
  const unconfirmed: string[] = [];
  // A forced run asks once here (after the emergency grace) and goes on whatever the answers.
  for (const wave of wavesOf(secret)) {
    const answer = await confirmWave(rc, wave);
    unconfirmed.push(...answer.unconfirmed, ...answer.forcedPast);
  }
  if (unconfirmed.length && !rc.run.force) return { kind: 'wait', until: pollAt(rc), detail: { unconfirmed } };
  const forced = forcedDetail(unconfirmed);
  if (!rc.run.oldVersion || !rotator.inUse || !rotator.traits(rotatorCtx.params, rotatorCtx.secretId).drain) return next(undefined, forced);

  const old = await rc.value(rc.run.oldVersion);
  const sessions = await rotator.inUse(rotatorCtx, old);
  const at = rc.deps.now();
  // Written with the step's completion when the run goes on; otherwise alone, first, before
  // anything that may fail (a terminate that fails must not lose the sample).
  if (sessions === 0 || rc.run.force) return next(oldInUsePatch(sessions, at), { oldSessions: sessions, ...forced });
  await recordOldInUse(rc.deps.pool, rc.run.id, sessions, at);
  switch (secret.drain.mode) {
    case 'terminate': {
      const ended = rotator.terminate ? await rotator.terminate(rotatorCtx, old) : 0;
      return next(undefined, { oldSessions: sessions, terminated: ended });
    }
    case 'fail':
      throw new PermanentError(`the old credential still has ${sessions} live session(s) and drain mode is fail`, {
        hint: 'find the client still using the old credential, or set drain.mode to wait or terminate',
      });
    case 'wait': {
      const deadline = (rc.run.graceUntil ?? rc.deps.now()).getTime() + secret.drain.timeoutMs;
      if (rc.deps.now().getTime() > deadline) {
        throw new PermanentError(
          `the old credential still has ${sessions} live session(s) ${Math.round(secret.drain.timeoutMs / 1000)}s after grace ended`,
          { hint: 'find the client still using the old credential (pg_stat_activity), or set drain.mode to terminate' },
        );
      }
      return { kind: 'wait', until: pollAt(rc), detail: { oldSessions: sessions } };
    }
  }
};

const revoke: Handler = async (rc) => {
  const keep = await rc.value(requireVersion(rc, 'newVersion'));
  // Invariant 7: what the target had before rotor (a password set by hand) stops working at the
  // revoke step of the first run that gets there, under the same checks as the old credential.
  // That is not always a run without an old version: a first rotation rolled back after promote
  // kept its credential CURRENT (failure.ts), so the next run has one while the secret has still
  // never rotated. A run with no old version revokes them whatever was recorded: nothing of
  // rotor's is in the store to name (a store emptied or changed since). Before the old credential:
  // a target that refuses (an API that will not delete the initial key) fails the step while
  // rotor's old credential still works where the rotator keeps the two apart, so the rollback
  // that follows returns consumers to a credential that works.
  let detail: Record<string, unknown> | undefined;
  if (rc.rotator.revokeInherited && (!rc.run.oldVersion || rc.neverRotated)) {
    detail = { inheritedRevoked: await rc.rotator.revokeInherited(rc.rotatorCtx, keep) };
  }
  if (rc.run.oldVersion) {
    const old = await rc.value(rc.run.oldVersion);
    await rc.rotator.revoke(rc.rotatorCtx, old, keep);
    // Where the store is the only target (random-secret), the old value stops working when it leaves PREVIOUS.
    const traits = rc.rotator.traits(rc.rotatorCtx.params, rc.rotatorCtx.secretId);
    if (traits.storeIsTarget && traits.publishesPrevious) await unpublishPrevious(rc);
    if (traits.storeIsTarget) await rc.store.clearPrevious(rc.location);
  }
  return next(undefined, detail);
};

/**
 * CURRENT carried the old value beside the new one through grace (traits.publishesPrevious): stage
 * the new value without it as `<newVersion>-settled`, make that CURRENT, and give it to the
 * consumers that carry values, so the old value is nowhere once the step ends. Idempotent: the
 * store takes the same version id and value again as a retry, and promoting CURRENT is a no-op.
 */
async function unpublishPrevious(rc: RunContext): Promise<void> {
  const published = requireVersion(rc, 'newVersion');
  const { [PREVIOUS_FIELD]: previous, ...value } = await rc.value(published);
  if (previous === undefined) return;
  const settled = `${published}-settled`;
  await rc.store.putPending(rc.location, settled, value);
  await rc.store.promote(rc.location, settled);
  const notice = noticeFor(rc, settled, rc.deps.now());
  for (const c of rc.secret.consumers) {
    const impl = rc.deps.consumer(c.type);
    if (impl.carriesValue) await impl.notify(consumerCtx(rc, c), notice, value);
  }
}

const finish: Handler = async (rc) => {
  const now = rc.deps.now();
  const row = await getSecret(rc.deps.pool, rc.run.secretId);
  await recordSuccess(rc.deps.pool, rc.run.secretId, rc.run.id, now, rc.deps.nextDue(row?.policy ?? rc.secret, now));
  // `done` is written with the step's end and its run.done audit row, in one transaction (processor.ts).
  return next({ state: 'done', outcome: 'rotated', finishedAt: now });
};

function requireVersion(rc: RunContext, key: 'newVersion' | 'oldVersion'): string {
  const v = rc.run[key];
  if (!v) throw new PermanentError(`run ${rc.run.id} reached ${rc.run.step} without a ${key}`);
  return v;
}

export const HANDLERS: Partial<Record<Step, Handler>> = {
  create,
  'verify-new': verifyNew,
  promote,
  distribute,
  grace,
  'verify-consumers': verifyConsumers,
  revoke,
  finish,
};
