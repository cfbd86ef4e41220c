// rotor status [id]: where every secret stands, as a table fitted to the terminal, or one secret in
// detail (policy facts, versions, runs); `--json` for scripts, whose shape only ever gains fields.
import type { Command } from 'commander';
import { statusThresholds } from '../config.js';
import { activeRunWaits } from '../state/run-waits.js';
import { activeRun } from '../state/runs.js';
import { getSecret } from '../state/secrets.js';
import { listStatuses, type StatusRules } from '../state/status.js';
import { openState, out } from './context.js';
import { describeSecret } from './format/describe.js';
import { statusTable } from './format/status-table.js';
import { secretDetail } from './secret-detail.js';
import { outputPalette, outputWidth } from './terminal.js';
import { unknownSecret } from './unknown-secret.js';

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
          if (!s) throw await unknownSecret(state.pool, secretId);
          const detail = await secretDetail(state, s, rules);
          if (opts.json) return out(JSON.stringify(detail, null, 2));
          for (const line of describeSecret(detail, { now: rules.now, width: outputWidth(), palette: outputPalette() })) out(line);
          return;
        }
        const rows = await listStatuses(state.pool, rules);
        const waits = await activeRunWaits(state.pool, rules.now);
        const bySecret = new Map([...waits.values()].map((w) => [w.secretId, w]));
        const withWaits = await Promise.all(
          rows.map(async (r) => {
            const wait = bySecret.get(r.id) ?? null;
            // `activeRun` is added for scripts: which run is in flight, and what it waits for.
            const run = r.status === 'rotating' ? await activeRun(state.pool, r.id) : null;
            return { ...r, activeRun: run ? { id: run.id, step: run.step, state: run.state } : null, wait };
          }),
        );
        if (opts.json) return out(JSON.stringify(withWaits, null, 2));
        for (const line of statusTable(withWaits, { now: rules.now, width: outputWidth(), palette: outputPalette() })) out(line);
      } finally {
        await state.close();
      }
    });
}
