// Following a run until it ends (`rotor rotate --wait`, `rotor attest --value-stdin --wait`): each
// step once when it ends, and what the step in flight is doing (a live line on a terminal, a line
// per change when piped, JSON lines with --json).
import type pg from 'pg';
import { RunFailedError } from '../errors.js';
import { activeRunWaits } from '../state/run-waits.js';
import { getRun, listSteps, type RunRow } from '../state/runs.js';
import { out } from './context.js';
import { ProgressPrinter, type ProgressMode } from './format/progress.js';
import { outputPalette } from './terminal.js';

export async function followRun(pool: pg.Pool, runId: string, json: boolean): Promise<RunRow> {
  const mode: ProgressMode = json ? 'json' : process.stdout.isTTY ? 'terminal' : 'plain';
  const progress = new ProgressPrinter((t) => process.stdout.write(t), mode, outputPalette());
  for (;;) {
    const now = new Date();
    const run = (await getRun(pool, runId))!;
    const wait = (await activeRunWaits(pool, now, [runId])).get(runId) ?? null;
    progress.update({ run, steps: await listSteps(pool, runId), wait, now });
    if (run.state === 'done' || run.state === 'needs-attention') {
      progress.finish(run);
      return run;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Follows `run` when asked (`wait`), prints it as JSON when asked (with --wait: JSON lines, the
 * progress events, then the run as one last line), and throws RunFailedError (exit 5) when it
 * ended in needs-attention.
 */
export async function followAndReport(pool: pg.Pool, run: RunRow, opts: { wait?: boolean; json?: boolean }): Promise<RunRow> {
  const final = opts.wait ? await followRun(pool, run.id, opts.json === true) : run;
  if (opts.json) out(opts.wait ? JSON.stringify({ event: 'end', ...final }) : JSON.stringify(final, null, 2));
  if (final.state === 'needs-attention') {
    throw new RunFailedError(`run ${run.id} needs attention: ${final.error ?? 'no reason recorded'}`, {
      hint: `see: rotor history ${run.secretId}`,
    });
  }
  return final;
}
