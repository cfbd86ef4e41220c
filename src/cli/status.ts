// rotor status [id], rotor history <id>, rotor audit: read-only views of the state database.
import type { Command } from 'commander';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { listAudit } from '../state/audit.js';
import { runConsumers } from '../state/consumers.js';
import { activeRun, listRuns, listSteps, type RunRow } from '../state/runs.js';
import { getSecret, type SecretRow } from '../state/secrets.js';
import { listStatuses, secretStatus, STATUSES, type StatusRules } from '../state/status.js';
import { statusThresholds } from '../config.js';
import { pendingOf } from '../store/pending.js';
import { openState, openStores, out, type StateHandle } from './context.js';
import { masterKeyPresent } from '../store/master-key.js';

/** The widest status word: the STATUS column of `rotor status`. */
const STATUS_WIDTH = Math.max(...STATUSES.map((s) => s.length));

const iso = (d: Date | null) => (d ? d.toISOString().replace('.000Z', 'Z') : '-');

/** The store's PENDING version, flagged when no active run owns it (a dangling AWSPENDING blocks rotations). */
async function pendingView(state: StateHandle, s: SecretRow, activeRunId: string | null): Promise<Record<string, unknown> | null> {
  try {
    const backend = s.policy.store.backend;
    // Opening the local store would generate a key file where none exists: a read must not.
    if (backend === 'local' && !masterKeyPresent(process.env, state.config.ROTOR_HOME)) {
      return { unknown: 'no master key here (ROTOR_MASTER_KEY or the key file) to read the local store' };
    }
    const store = (await openStores(state)).stores[backend];
    const p = store ? await pendingOf(store, s.policy.store.location, activeRunId) : null;
    if (!p) return null;
    return p.dangling
      ? { version: p.versionId, since: p.createdAt, dangling: true, hint: `an unfinished rotation left it; it blocks the next one: rotor repair ${s.id}` }
      : { version: p.versionId, since: p.createdAt, dangling: false };
  } catch (err) {
    // status must work without store access (no master key, no AWS credentials here): say so.
    return { unknown: `the ${s.policy.store.backend} store could not be read: ${(err as Error).message}` };
  }
}

/** `+1.2s` after a reference time, or `-` when either is missing. */
function after(ms: number | null): string {
  return ms === null ? '-' : `+${(ms / 1000).toFixed(1)}s`;
}

/** How stale the run left things: when the old credential was last seen in use, after promote. */
function oldCredentialUse(r: RunRow): { lastSeenAt: Date | null; lastSeenAfterPromoteMs: number | null; sessionsAtLastCheck: number | null } {
  const ms = r.oldLastSeenAt && r.promotedAt ? r.oldLastSeenAt.getTime() - r.promotedAt.getTime() : null;
  return { lastSeenAt: r.oldLastSeenAt, lastSeenAfterPromoteMs: ms, sessionsAtLastCheck: r.oldSessionsSeen };
}

export function register(program: Command): void {
  program
    .command('status [secretId]')
    .description('where every secret stands (or one, in detail)')
    .option('--json', 'machine-readable output')
    .action(async (secretId: string | undefined, opts: { json?: boolean }) => {
      // The dashboard's rules (ROTOR_DASHBOARD_DUE_SOON, ROTOR_OVERDUE_TOLERANCE): the same word everywhere.
      const rules: StatusRules = { now: new Date(), ...statusThresholds() };
      const state = await openState();
      try {
        if (secretId) {
          const s = await getSecret(state.pool, secretId);
          if (!s) throw new NotFoundError(`no secret ${secretId}`, { hint: 'list them with: rotor status' });
          const active = await activeRun(state.pool, secretId);
          const last = (await listRuns(state.pool, secretId, 1))[0] ?? null;
          const pending = await pendingView(state, s, active?.id ?? null);
          const view = {
            id: s.id, status: await secretStatus(state.pool, secretId, rules), rotator: s.policy.rotator.name, class: s.policy.className ?? null,
            owner: s.policy.owner ?? null, lastSuccessAt: s.lastSuccessAt, nextDueAt: s.nextDueAt, overdueSince: s.overdueSince,
            activeRun: active ? { id: active.id, step: active.step, state: active.state } : null,
            lastRun: last
              ? {
                  id: last.id, state: last.state, outcome: last.outcome, error: last.error,
                  consumers: (await runConsumers(state.pool, last.id)).map((c) => ({
                    name: c.consumer, wave: c.wave, confirmedAfterPromoteMs: c.confirmedAfterMs, lastError: c.lastError,
                  })),
                  oldCredential: oldCredentialUse(last),
                }
              : null,
            pending,
          };
          if (opts.json) return out(JSON.stringify(view, null, 2));
          for (const [k, v] of Object.entries(view)) out(`${k.padEnd(14)} ${v instanceof Date ? iso(v) : typeof v === 'object' && v ? JSON.stringify(v) : String(v ?? '-')}`);
          return;
        }
        const rows = await listStatuses(state.pool, rules);
        if (opts.json) return out(JSON.stringify(rows, null, 2));
        const w = Math.max(6, ...rows.map((r) => r.id.length));
        out(`${'SECRET'.padEnd(w)}  ${'STATUS'.padEnd(STATUS_WIDTH)}  LAST SUCCESS          NEXT DUE`);
        for (const r of rows) out(`${r.id.padEnd(w)}  ${r.status.padEnd(STATUS_WIDTH)}  ${iso(r.lastSuccessAt).padEnd(20)}  ${iso(r.nextDueAt)}`);
      } finally {
        await state.close();
      }
    });

  program
    .command('history <secretId>')
    .description('runs of one secret, newest first, with their steps')
    .option('--limit <n>', 'how many runs', '10')
    .option('--json', 'machine-readable output')
    .action(async (secretId: string, opts: { json?: boolean; limit: string }) => {
      const state = await openState();
      try {
        if (!(await getSecret(state.pool, secretId))) throw new NotFoundError(`no secret ${secretId}`, { hint: 'list them with: rotor status' });
        const runs = await listRuns(state.pool, secretId, Number(opts.limit) || 10);
        const withSteps = await Promise.all(
          runs.map(async (r) => ({
            ...r,
            steps: await listSteps(state.pool, r.id),
            consumers: await runConsumers(state.pool, r.id),
            oldCredential: oldCredentialUse(r),
          })),
        );
        if (opts.json) return out(JSON.stringify(withSteps, null, 2));
        for (const r of withSteps) {
          out(`${iso(r.createdAt)}  run ${r.id}  ${r.trigger}  ${r.state}${r.outcome ? ` (${r.outcome})` : ''}  by ${r.actor}${r.reason ? `: ${r.reason}` : ''}`);
          if (r.error) out(`    error: ${r.error}`);
          for (const s of r.steps) out(`    ${iso(s.startedAt)}  ${s.step.padEnd(17)} #${s.attempt} ${s.status}${s.error ? `: ${s.error}` : ''}`);
          for (const c of r.consumers) {
            const what = c.confirmedAt ? `confirmed ${after(c.confirmedAfterMs)} after promote` : c.notifiedAt ? 'notified, not confirmed' : 'not notified';
            out(`    consumer ${c.consumer} (wave ${c.wave}): ${what}${c.lastError && !c.confirmedAt ? `: ${c.lastError}` : ''}`);
          }
          if (r.oldCredential.lastSeenAt) {
            out(`    old credential last seen in use ${after(r.oldCredential.lastSeenAfterPromoteMs)} after promote`);
          } else if (r.oldCredential.sessionsAtLastCheck !== null) {
            out('    old credential not seen in use after promote');
          }
        }
      } finally {
        await state.close();
      }
    });

  program
    .command('audit')
    .description('the append-only audit trail, newest first')
    .option('--secret <id>', 'only this secret')
    .option('--since <time>', 'ISO time, e.g. 2026-11-01T00:00:00Z')
    .option('--limit <n>', 'how many rows', '200')
    .option('--json', 'machine-readable output')
    .action(async (opts: { secret?: string; since?: string; limit: string; json?: boolean }) => {
      const since = opts.since ? new Date(opts.since) : undefined;
      if (since && Number.isNaN(since.getTime())) {
        throw new InvalidInputError(`--since ${opts.since} is not a time`, { hint: 'use ISO 8601, e.g. 2026-11-01T00:00:00Z' });
      }
      const state = await openState();
      try {
        const rows = await listAudit(state.pool, { secretId: opts.secret, since, limit: Number(opts.limit) || 200 });
        if (opts.json) return out(JSON.stringify(rows, null, 2));
        for (const a of rows) out(`${iso(a.at)}  ${a.actor.padEnd(24)} ${a.action.padEnd(22)} ${a.secretId ?? '-'}  ${a.runId ?? ''}${a.reason ? `  ${a.reason}` : ''}`);
      } finally {
        await state.close();
      }
    });
}
