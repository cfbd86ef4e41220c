// Repair of what an unfinished rotation left behind: a PENDING version that no active run owns
// blocks every later rotation ("a previous rotation isn't complete"). Repair makes that credential
// stop working on the target (CURRENT keeps working) and drops it from the store, then audits it.
import type pg from 'pg';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { ResolvedSecret } from '../policy/types.js';
import { trackSecret } from '../redact.js';
import type { Rotator } from '../rotator/contract.js';
import { appendAudit } from '../state/audit.js';
import { activeRun } from '../state/runs.js';
import { getSecret } from '../state/secrets.js';
import type { SecretStore } from '../store/contract.js';

export interface RepairDeps {
  pool: pg.Pool;
  store(backend: string): SecretStore;
  rotator(name: string): Rotator<unknown>;
  resolveRef(ref: string, secret: ResolvedSecret): Promise<string>;
}

export type RepairResult = { repaired: false; reason: string } | { repaired: true; clearedVersion: string };

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
  const pending = await store.get(secret.store.location, 'PENDING');
  if (!pending) return { repaired: false, reason: 'no PENDING version: nothing to repair' };
  trackSecret(pending.value);
  const current = await store.get(secret.store.location, 'CURRENT');
  if (current?.versionId !== pending.versionId) {
    // With no CURRENT (a first rotation left it) nothing of rotor's is kept; the credential still
    // stops working before it leaves the store (invariant 8).
    if (current) trackSecret(current.value);
    const rotator = deps.rotator(secret.rotator.name);
    await rotator.revoke(
      {
        secretId,
        runId: `repair-${pending.versionId}`,
        params: rotator.paramsSchema.parse(secret.rotator.params),
        resolveRef: (ref) => deps.resolveRef(ref, secret),
        log: silentLogger,
        signal: new AbortController().signal,
      },
      pending.value,
      current?.value ?? null,
    );
  }
  await store.discardPending(secret.store.location, pending.versionId);
  await appendAudit(deps.pool, {
    actor,
    action: 'repair.pending-cleared',
    secretId,
    reason: 'PENDING left by an unfinished rotation',
    detail: { version: pending.versionId, current: current?.versionId ?? null },
  });
  return { repaired: true, clearedVersion: pending.versionId };
}
