// What happens when a run fails: before promote the new credential is discarded; after promote the
// run rolls back (old credential current again, consumers told again, new credential revoked).
// The old credential is never revoked on either path.
import type { RunContext } from './run-context.js';
import { consumerCtx, noticeFor, wavesOf } from './consumers.js';

/** Undoes create: the new credential stops working on the target and leaves the store. */
export async function discard(rc: RunContext): Promise<void> {
  const { run, store, location, rotator, rotatorCtx } = rc;
  const pending = await store.get(location, 'PENDING');
  if (pending && pending.versionId.startsWith(run.id)) {
    if (run.oldVersion) await rotator.revoke(rotatorCtx, pending.value, await rc.value(run.oldVersion));
    await store.discardPending(location, pending.versionId);
  }
}

/** Puts the old credential back as CURRENT, tells every consumer, then revokes the new one. */
export async function rollback(rc: RunContext): Promise<void> {
  const { run, store, location, rotator, rotatorCtx } = rc;
  if (!run.oldVersion || !run.newVersion) return;
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
  await store.clearPrevious(location);
}
