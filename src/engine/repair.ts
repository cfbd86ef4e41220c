// Repair of what an unfinished rotation left behind: a PENDING version that no active run owns
// blocks every later rotation ("a previous rotation isn't complete"), and so does the new credential
// of a run that ended `rollback-unconfirmed` (kept working as PREVIOUS because a consumer did not
// confirm the old version; engine/failure.ts). Repair makes that credential stop working on the
// target (CURRENT keeps working) and drops it from the store, then audits it. The operator asks for
// it, after making sure no consumer uses it any more: rotor cannot ask the consumers from here.
import type pg from 'pg';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { ResolvedSecret } from '../policy/types.js';
import { trackSecret } from '../redact.js';
import type { Rotator } from '../rotator/contract.js';
import { appendAudit } from '../state/audit.js';
import { activeRun, lastKeptByRollback } from '../state/runs.js';
import { getSecret } from '../state/secrets.js';
import type { SecretStore, Stage, StoredVersion } from '../store/contract.js';

export interface RepairDeps {
  pool: pg.Pool;
  store(backend: string): SecretStore;
  rotator(name: string): Rotator<unknown>;
  resolveRef(ref: string, secret: ResolvedSecret): Promise<string>;
}

export type RepairResult =
  | { repaired: false; reason: string }
  | { repaired: true; clearedVersion: string; stage: Extract<Stage, 'PENDING' | 'PREVIOUS'>; keptBy?: string };

export async function repairSecret(deps: RepairDeps, secretId: string, actor: string): Promise<RepairResult> {
  const row = await getSecret(deps.pool, secretId);
  if (!row) throw new NotFoundError(`no secret ${secretId}`, { hint: 'list them with: rotor status' });
  const active = await activeRun(deps.pool, secretId);
  if (active) {
    throw new InvalidInputError(
      `run ${active.id} of ${secretId} is still active (${active.state}, step ${active.step}); nothing was changed`,
      {
        hint: `repair only clears what a finished run left behind; follow the run with: rotor history ${secretId}`,
      },
    );
  }
  const secret = row.policy;
  const store = deps.store(secret.store.backend);
  const location = secret.store.location;
  const pending = await store.get(location, 'PENDING');
  const current = await store.get(location, 'CURRENT');
  if (current) trackSecret(current.value);
  if (pending) {
    trackSecret(pending.value);
    // Where it is also CURRENT (a store that makes a first version CURRENT as it is staged) it stays working.
    if (current?.versionId !== pending.versionId) await revoke(deps, secret, pending, current);
    await store.discardPending(location, pending.versionId);
    await audit(deps, actor, secretId, 'repair.pending-cleared', 'PENDING left by an unfinished rotation', {
      version: pending.versionId,
      current: current?.versionId ?? null,
    });
    return { repaired: true, clearedVersion: pending.versionId, stage: 'PENDING' };
  }
  const kept = await lastKeptByRollback(deps.pool, secretId);
  const previous = kept ? await store.get(location, 'PREVIOUS') : null;
  if (previous) trackSecret(previous.value);
  if (!kept || !previous || previous.versionId !== kept.newVersion || previous.versionId === current?.versionId) {
    return { repaired: false, reason: 'no PENDING version, and no credential kept by a rollback: nothing to repair' };
  }
  await revoke(deps, secret, previous, current);
  await store.clearPrevious(location);
  await audit(deps, actor, secretId, 'repair.kept-revoked', `kept working by the rollback of run ${kept.runId}`, {
    version: previous.versionId,
    current: current?.versionId ?? null,
    run: kept.runId,
  });
  return { repaired: true, clearedVersion: previous.versionId, stage: 'PREVIOUS', keptBy: kept.runId };
}

/** The rotator's revoke of `gone`, keeping CURRENT: with none (a first rotation left it) nothing of rotor's is kept. */
async function revoke(deps: RepairDeps, secret: ResolvedSecret, gone: StoredVersion, current: StoredVersion | null): Promise<void> {
  const rotator = deps.rotator(secret.rotator.name);
  // Without CURRENT the credential still stops working before it leaves the store (invariant 8).
  await rotator.revoke(
    {
      secretId: secret.id,
      runId: `repair-${gone.versionId}`,
      params: rotator.paramsSchema.parse(secret.rotator.params),
      resolveRef: (ref) => deps.resolveRef(ref, secret),
      log: silentLogger,
      signal: new AbortController().signal,
    },
    gone.value,
    current?.value ?? null,
  );
}

function audit(deps: RepairDeps, actor: string, secretId: string, action: string, reason: string, detail: Record<string, unknown>) {
  return appendAudit(deps.pool, { actor, action, secretId, reason, detail });
}
