// Gathers what `rotor status <id>` shows of one secret: the state database's facts and runs, and
// the store's versions where this machine can read the store.
import type { ResolvedSecret } from '../policy/types.js';
import { runConsumers } from '../state/consumers.js';
import { activeRunWaits } from '../state/run-waits.js';
import { activeRun, listRuns, listSteps, type RunRow } from '../state/runs.js';
import type { SecretRow } from '../state/secrets.js';
import { secretStatus, type StatusRules } from '../state/status.js';
import type { VersionInfo } from '../store/contract.js';
import { masterKeyPresent } from '../store/master-key.js';
import { pendingIn } from '../store/pending.js';
import { openStores, type StateHandle } from './context.js';
import type { SecretDetail } from './format/describe.js';

/** How many runs `status <id>` lays out. */
const RUNS_SHOWN = 3;

/** How stale the run left things: when the old credential was last seen in use, after promote. */
export function oldCredentialUse(r: RunRow): {
  lastSeenAt: Date | null;
  lastSeenAfterPromoteMs: number | null;
  sessionsAtLastCheck: number | null;
} {
  const ms = r.oldLastSeenAt && r.promotedAt ? r.oldLastSeenAt.getTime() - r.promotedAt.getTime() : null;
  return { lastSeenAt: r.oldLastSeenAt, lastSeenAfterPromoteMs: ms, sessionsAtLastCheck: r.oldSessionsSeen };
}

function scheduleText(s: ResolvedSecret['schedule']): string {
  return s.kind === 'interval' ? `every ${s.text}` : `cron ${s.expression} (${s.tz})`;
}

/** The store's versions, or why they cannot be read here (status must work without store access). */
async function readVersions(state: StateHandle, s: SecretRow): Promise<VersionInfo[] | { unknown: string }> {
  try {
    const backend = s.policy.store.backend;
    // Opening the local store would generate a key file where none exists: a read must not.
    if (backend === 'local' && !masterKeyPresent(process.env, state.config.ROTOR_HOME)) {
      return { unknown: 'no master key here (ROTOR_MASTER_KEY or the key file) to read the local store' };
    }
    const store = (await openStores(state)).stores[backend];
    if (!store) return { unknown: `the ${backend} store is not available in this build of rotor` };
    return await store.describe(s.policy.store.location);
  } catch (err) {
    return { unknown: `the ${s.policy.store.backend} store could not be read: ${(err as Error).message}` };
  }
}

/** The PENDING version, flagged when no active run owns it (a dangling AWSPENDING blocks rotations). */
function pendingView(
  s: SecretRow,
  versions: VersionInfo[] | { unknown: string },
  activeRunId: string | null,
): Record<string, unknown> | null {
  if ('unknown' in versions) return { unknown: versions.unknown };
  const p = pendingIn(versions, activeRunId);
  if (!p) return null;
  const dangling = p.dangling;
  return dangling
    ? {
        version: p.versionId,
        since: p.createdAt,
        dangling: true,
        hint: `an unfinished rotation left it; it blocks the next one: rotor repair ${s.id}`,
      }
    : { version: p.versionId, since: p.createdAt, dangling: false };
}

/**
 * The detail of one secret, plus `lastRun` in the shape `status <id> --json` has always had
 * (scripts read it; fields are only ever added).
 */
export async function secretDetail(state: StateHandle, s: SecretRow, rules: StatusRules): Promise<SecretDetail & { lastRun: unknown }> {
  const pool = state.pool;
  const active = await activeRun(pool, s.id);
  const wait = active ? ((await activeRunWaits(pool, rules.now, [active.id])).get(active.id) ?? null) : null;
  const runs = await listRuns(pool, s.id, RUNS_SHOWN);
  const versions = await readVersions(state, s);
  const detailed = await Promise.all(
    runs.map(async (r) => ({
      run: r,
      steps: await listSteps(pool, r.id),
      consumers: (await runConsumers(pool, r.id)).map((c) => ({
        name: c.consumer,
        wave: c.wave,
        notifiedAt: c.notifiedAt,
        confirmedAt: c.confirmedAt,
        confirmedAfterPromoteMs: c.confirmedAfterMs,
        lastError: c.lastError,
        rollbackNotifiedAt: c.rollbackNotifiedAt,
        rollbackConfirmedAt: c.rollbackConfirmedAt,
        rollbackError: c.rollbackError,
      })),
    })),
  );
  const last = detailed[0];
  const policy = s.policy;
  return {
    id: s.id,
    status: (await secretStatus(pool, s.id, rules)) ?? 'retired',
    rotator: policy.rotator.name,
    class: policy.className ?? null,
    owner: policy.owner ?? null,
    lastSuccessAt: s.lastSuccessAt,
    nextDueAt: s.nextDueAt,
    overdueSince: s.overdueSince,
    policy: {
      schedule: scheduleText(policy.schedule),
      window: policy.window?.text ?? null,
      graceMs: policy.graceMs,
      emergencyGraceMs: policy.emergencyGraceMs,
      store: `${policy.store.backend}:${policy.store.location}`,
      target: s.targetKey,
      source: `${policy.source.file}:${policy.source.line}`,
      consumers: policy.consumers.map((c) => `${c.name} (${c.type}, wave ${c.wave})`),
    },
    activeRun: active ? { id: active.id, step: active.step, state: active.state, wait } : null,
    lastRun: last
      ? {
          id: last.run.id,
          state: last.run.state,
          outcome: last.run.outcome,
          error: last.run.error,
          consumers: last.consumers.map((c) => ({
            name: c.name,
            wave: c.wave,
            confirmedAfterPromoteMs: c.confirmedAfterPromoteMs,
            lastError: c.lastError,
          })),
          oldCredential: oldCredentialUse(last.run),
        }
      : null,
    pending: pendingView(s, versions, active?.id ?? null),
    versions,
    runs: detailed.map(({ run, steps, consumers }) => ({
      id: run.id,
      trigger: run.trigger,
      actor: run.actor,
      reason: run.reason,
      state: run.state,
      step: run.step,
      outcome: run.outcome,
      error: run.error,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
      steps,
      consumers,
    })),
  };
}
