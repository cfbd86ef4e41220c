// What happens when a run fails: before promote the new credential is discarded; after promote the
// run rolls back (old credential current again, consumers told again, new credential revoked).
// The old credential is never revoked on either path, and the new one never outlives the run
// untracked (invariant 8): it stops working on the target before it leaves the store, first
// rotations included (the rotator's revoke with nothing of rotor's to keep).
import { trackSecret } from '../redact.js';
import type { RunContext } from './run-context.js';
import { consumerCtx, noticeFor, wavesOf } from './consumers.js';

/** What a failure step records about itself (`rotor history`); never a value. */
export type FailureDetail = Record<string, string | number | boolean>;

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

/** Puts the old credential back as CURRENT, tells every consumer, then revokes the new one. */
export async function rollback(rc: RunContext): Promise<FailureDetail | undefined> {
  const { run, store, location, rotator, rotatorCtx } = rc;
  if (!run.newVersion) return discard(rc);
  if (!run.oldVersion) return rollbackFirst(rc, run.newVersion);
  const old = await rc.value(run.oldVersion);
  const current = await store.get(location, 'CURRENT');
  if (current?.versionId !== run.oldVersion) await store.promote(location, run.oldVersion);
  const notice = noticeFor(rc, run.oldVersion, rc.deps.now());
  for (const wave of wavesOf(rc.secret)) {
    for (const c of wave.consumers) {
      const impl = rc.deps.consumer(c.type);
      await impl.notify(consumerCtx(rc, c), notice, impl.carriesValue ? old : undefined);
    }
  }
  // Consumers were told first: revoking the new credential before they switch back would be an outage.
  await rotator.revoke(rotatorCtx, await rc.value(run.newVersion), old);
  // A promote that failed before it took left the new version PENDING: it goes too.
  await store.discardPending(location, run.newVersion);
  await store.clearPrevious(location);
  return { revoked: run.newVersion, restored: run.oldVersion };
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
