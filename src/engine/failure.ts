// What happens when a run fails: before promote the new credential is discarded; after promote the
// run rolls back (old credential current again, consumers told again and, once they confirm it,
// the new credential revoked). The old credential is never revoked on either path, and the new one
// never outlives the run untracked (invariant 8): it stops working on the target before it leaves
// the store, first rotations included (the rotator's revoke with nothing of rotor's to keep). A
// rollback whose consumers do not all confirm the old version keeps the new credential working and
// in the store instead: revoking it could cut off a consumer still using it.
import { coerceError } from '../errors.js';
import { redactError, trackSecret } from '../redact.js';
import { listSteps, type RunOutcome } from '../state/runs.js';
import type { SecretValue } from '../rotator/contract.js';
import { pollAt, type RunContext } from './run-context.js';
import { askWave, cachesClearAt, noticeFor, notifyWave, wavesOf, withinTimeout, type Refusal } from './consumers.js';

/** What a failure step records about itself (`rotor history`); never a value. */
export type FailureDetail = Record<string, string | number | boolean | string[]>;

/**
 * How a failure step ends the run (its outcome; `error` when it could not do all it should), or a
 * wait: a rollback waiting for consumers to confirm the old version, a delayed job like any other.
 */
export type FailureResult =
  | { kind: 'ended'; outcome: Exclude<RunOutcome, 'rotated'>; detail?: FailureDetail | undefined; error?: string }
  | { kind: 'wait'; until: Date; detail: FailureDetail };

const ended = (outcome: 'discarded' | 'rolled-back', detail: FailureDetail | undefined): FailureResult => ({
  kind: 'ended',
  outcome,
  detail,
});

/**
 * Undoes create: the credential the run staged stops working on the target, then leaves PENDING.
 * The credential kept is CURRENT as the store has it now (before promote, the old one; none on a
 * first rotation), not the run's record: a create that failed after applying never recorded one.
 */
export async function discard(rc: RunContext): Promise<FailureDetail | undefined> {
  const { run, store, location, rotator, rotatorCtx } = rc;
  const pending = await store.get(location, 'PENDING');
  const current = await store.get(location, 'CURRENT');
  if (current) trackSecret(current.value);
  const ours = (v: { versionId: string } | null) => v?.versionId.startsWith(run.id) === true;
  if (pending && ours(pending) && pending.versionId !== current?.versionId) {
    trackSecret(pending.value);
    await rotator.revoke(rotatorCtx, pending.value, current?.value ?? null);
    await store.discardPending(location, pending.versionId);
    return { revoked: pending.versionId, ...(current ? {} : { firstRotation: true }) };
  }
  // CURRENT already: Secrets Manager makes a secret's first version AWSCURRENT as it is staged.
  // Consumers may read it, and the store tracks it, so it stays, as on a first rotation's rollback.
  if (!current || !ours(current)) return undefined;
  await store.discardPending(location, current.versionId);
  return { keptCurrent: current.versionId, firstRotation: true };
}

/**
 * Puts the old credential back as CURRENT, tells every consumer (wave by wave, all of them: any may
 * have read the new one from the store), waits until every one confirms the old version, then
 * revokes the new one. Re-entered at each poll and after a crash: the promote is skipped once done,
 * each consumer is told once (a repeat after a crash is harmless, notify is idempotent), only the
 * unconfirmed are asked again. Each consumer is bounded by its own confirmTimeout, counted from when
 * the rollback told it, as on the way forward. A consumer that caches the value (cacheTtl) may hold
 * the new one until its cache expires: the revoke also waits out each one's cacheTtl from then.
 *
 * A consumer that does not confirm the old version within its bound (or says it never will, a
 * CannotConfirmError) may still hold the new credential: a pod that became ready with it and is not
 * replaced yet. Revoking it then would be an outage. So it is not revoked: it stays in the store
 * (PREVIOUS; PENDING when the promote never took) and working, invariant 8 holds, and the run ends
 * `rollback-unconfirmed`, naming the consumer. Once it uses the old version, `rotor repair` takes
 * the new credential back (engine/repair.ts); until then no rotation of the secret starts a create.
 *
 * A forced run asks once and revokes whatever the answers, as its verify-consumers step does. A
 * strategy without overlap (a single-user password) cannot keep both working: its revoke is what
 * makes the old password work again, so it comes right after the consumers are told.
 */
export async function rollback(rc: RunContext): Promise<FailureResult> {
  const { run, store, location, rotator, rotatorCtx } = rc;
  if (!run.newVersion) return ended('rolled-back', await discard(rc));
  if (!run.oldVersion) return ended('rolled-back', await rollbackFirst(rc, run.newVersion));
  const old = await rc.value(run.oldVersion);
  const current = await store.get(location, 'CURRENT');
  if (current?.versionId !== run.oldVersion) {
    const gone = await oldGone(rc, old);
    if (gone !== null) return keepNewCurrent(rc, gone, current?.versionId ?? run.newVersion);
    await store.promote(location, run.oldVersion);
  }
  const notice = noticeFor(rc, run.oldVersion, rc.deps.now());
  const waves = wavesOf(rc.secret);
  for (const wave of waves) await notifyWave(rc, wave, notice, old, 'rollback');
  const unconfirmed: string[] = [];
  if (rotator.traits(rotatorCtx.params, rotatorCtx.secretId).overlap) {
    for (const wave of waves) {
      const answer = await askWave(rc, wave, notice, 'rollback');
      if (answer.refusal) return keepNew(rc, answer.refusal, [...unconfirmed, ...answer.unconfirmed]);
      unconfirmed.push(...answer.unconfirmed, ...answer.forcedPast);
    }
    if (unconfirmed.length && !run.force) return { kind: 'wait', until: pollAt(rc), detail: { restoring: run.oldVersion, unconfirmed } };
    // A consumer that caches the value may hold the new one until its cache expires.
    const cachesClear = run.force ? null : await cachesClearAt(rc, waves, 'rollback');
    if (cachesClear && cachesClear.getTime() > rc.deps.now().getTime()) {
      return { kind: 'wait', until: cachesClear, detail: { restoring: run.oldVersion, cachesClearAt: cachesClear.toISOString() } };
    }
  }
  // Every consumer confirmed the old version (or the run is forced): the new credential can go.
  await rotator.revoke(rotatorCtx, await rc.value(run.newVersion), old);
  // A promote that failed before it took left the new version PENDING: it goes too.
  await store.discardPending(location, run.newVersion);
  await store.clearPrevious(location);
  return ended('rolled-back', {
    revoked: run.newVersion,
    restored: run.oldVersion,
    ...(unconfirmed.length ? { forced: true, unconfirmed } : {}),
  });
}

/**
 * Why the old credential no longer works, or null when it does (or cannot have been revoked). A run
 * that failed in its revoke step may have revoked it before failing: a revoke that took effect and
 * then lost its connection, or the settle after it (a consumer not told, the store not written).
 * Putting it back would hand every consumer a credential the target refuses: an outage. So once the
 * run reached revoke, a rotator whose two credentials work side by side (overlap) verifies the old
 * one first. Without overlap the old one works again only after the rollback's own revoke.
 */
async function oldGone(rc: RunContext, old: SecretValue): Promise<string | null> {
  const { rotator, rotatorCtx } = rc;
  if (!rotator.traits(rotatorCtx.params, rotatorCtx.secretId).overlap) return null;
  if (!(await listSteps(rc.deps.pool, rc.run.id)).some((s) => s.step === 'revoke')) return null;
  try {
    await rotator.verify(rotatorCtx, old);
    return null;
  } catch (err) {
    return redactError(coerceError(err)).message;
  }
}

/**
 * The end of a rollback that found the old credential gone: the new one stays CURRENT (it was
 * verified, and every consumer confirmed it before revoke began; `currentVersion`, the run's new
 * version or the one a revoke step's settle staged for it), no consumer is told anything, and a
 * person looks at the target.
 */
function keepNewCurrent(rc: RunContext, why: string, currentVersion: string): FailureResult {
  const [newVersion, oldVersion] = [currentVersion, rc.run.oldVersion!];
  return {
    kind: 'ended',
    outcome: 'rollback-failed',
    detail: { keptCurrent: newVersion, oldGone: oldVersion },
    error:
      `rollback stopped: version ${oldVersion} no longer works on the target (${why}); its revoke took effect before the step failed.` +
      ` Version ${newVersion} stays CURRENT and working, as every consumer confirmed it. Find why the revoke step failed on the target;` +
      ` the next rotation of ${rc.run.secretId} starts from version ${newVersion}`,
  };
}

/** The end of a rollback a consumer did not confirm: the new credential stays working and tracked. */
async function keepNew(rc: RunContext, refusal: Refusal, unconfirmed: string[]): Promise<FailureResult> {
  const { run, store, location } = rc;
  const [newVersion, oldVersion] = [run.newVersion!, run.oldVersion!];
  const stage = (await store.get(location, 'PENDING'))?.versionId === newVersion ? 'PENDING' : 'PREVIOUS';
  const { consumer: c } = refusal;
  const what = refusal.cannot
    ? `cannot confirm the old version ${oldVersion}`
    : `did not confirm the old version ${oldVersion} ${withinTimeout(c)}`;
  const others = unconfirmed.filter((n) => n !== c.name);
  return {
    kind: 'ended',
    outcome: 'rollback-unconfirmed',
    detail: { restored: oldVersion, keptNew: newVersion, stage, unconfirmed: [c.name, ...others] },
    error:
      `rollback kept version ${newVersion} working: consumer ${c.name} (${c.type}) ${what}: ${refusal.why}` +
      (refusal.hint ? ` (${refusal.hint})` : '') +
      (others.length ? `; not confirmed yet either: ${others.join(', ')}` : '') +
      ` (version ${oldVersion} is CURRENT again; the new credential stays ${stage} in the store and works on the target,` +
      ` since ${c.name} may still use it. Once ${c.name} uses version ${oldVersion}, take it back with: rotor repair ${run.secretId})`,
  };
}

/**
 * A first rotation has nothing to roll back to. Once its credential is CURRENT (verified, and
 * perhaps already what consumers use) it stays CURRENT and working, and what the target had before
 * rotor stays too (the revoke step never ran): revoking it now could only cut consumers off, and
 * the store still tracks it. The secret has still never rotated, so the next run to reach its
 * revoke step revokes what the target had before rotor (invariant 7). A promote that never took
 * leaves it PENDING, told to nobody: undone as on discard.
 */
async function rollbackFirst(rc: RunContext, newVersion: string): Promise<FailureDetail | undefined> {
  const current = await rc.store.get(rc.location, 'CURRENT');
  if (current?.versionId !== newVersion) return discard(rc);
  return { keptCurrent: newVersion, firstRotation: true };
}
