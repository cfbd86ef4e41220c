// rotor history <id>, rotor audit: the runs of one secret with their steps, and the audit trail.
import type { Command } from 'commander';
import { InvalidInputError } from '../errors.js';
import { listAudit } from '../state/audit.js';
import { runConsumers } from '../state/consumers.js';
import { activeRunWaits } from '../state/run-waits.js';
import { listRuns, listSteps } from '../state/runs.js';
import { getSecret } from '../state/secrets.js';
import { registerAuditChain } from './audit-chain.js';
import { openState, out } from './context.js';
import { absolute, relative } from './format/time.js';
import { rollbackPart } from './format/describe.js';
import { describeWait } from './format/wait.js';
import { oldCredentialUse } from './secret-detail.js';
import { unknownSecret } from './unknown-secret.js';

const iso = (d: Date | null) => (d ? d.toISOString().replace('.000Z', 'Z') : '-');

/** `+1.2s` after a reference time, or `-` when either is missing. */
function after(ms: number | null): string {
  return ms === null ? '-' : `+${(ms / 1000).toFixed(1)}s`;
}

export function register(program: Command): void {
  program
    .command('history <secretId>')
    .description('runs of one secret, newest first, with their steps')
    .option('--limit <n>', 'how many runs', '10')
    .option('--json', 'machine-readable output')
    .action(async (secretId: string, opts: { json?: boolean; limit: string }) => {
      const now = new Date();
      const state = await openState();
      try {
        if (!(await getSecret(state.pool, secretId))) throw await unknownSecret(state.pool, secretId);
        const runs = await listRuns(state.pool, secretId, Number(opts.limit) || 10);
        const waits = await activeRunWaits(
          state.pool,
          now,
          runs.map((r) => r.id),
        );
        const withSteps = await Promise.all(
          runs.map(async (r) => ({
            ...r,
            steps: await listSteps(state.pool, r.id),
            consumers: await runConsumers(state.pool, r.id),
            oldCredential: oldCredentialUse(r),
            wait: waits.get(r.id) ?? null,
          })),
        );
        if (opts.json) return out(JSON.stringify(withSteps, null, 2));
        for (const r of withSteps) {
          out(
            `${absolute(r.createdAt)} (${relative(r.createdAt, now)})  run ${r.id}  ${r.trigger}  ${r.state}${r.outcome ? ` (${r.outcome})` : ''}  by ${r.actor}${r.reason ? `: ${r.reason}` : ''}`,
          );
          if (r.wait) out(`    ${describeWait(r.wait, now)}`);
          if (r.error) out(`    error: ${r.error}`);
          for (const s of r.steps)
            out(`    ${iso(s.startedAt)}  ${s.step.padEnd(17)} #${s.attempt} ${s.status}${s.error ? `: ${s.error}` : ''}`);
          for (const c of r.consumers) {
            const what = c.confirmedAt
              ? `confirmed ${after(c.confirmedAfterMs)} after promote`
              : c.notifiedAt
                ? 'notified, not confirmed'
                : 'not notified';
            out(
              `    consumer ${c.consumer} (wave ${c.wave}): ${what}${c.lastError && !c.confirmedAt ? `: ${c.lastError}` : ''}${rollbackPart(c)}`,
            );
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

  const audit = program
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
        for (const a of rows)
          out(
            `${iso(a.at)}  ${a.actor.padEnd(24)} ${a.action.padEnd(22)} ${a.secretId ?? '-'}  ${a.runId ?? ''}${a.reason ? `  ${a.reason}` : ''}`,
          );
      } finally {
        await state.close();
      }
    });
  registerAuditChain(audit);
}
