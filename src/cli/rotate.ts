// rotor rotate <id> [--emergency]: starts a run now. Emergencies jump the routine queue, ignore the
// rotation window, use the class's emergency grace, and need a reason and a confirmation.
import type { Command } from 'commander';
import type pg from 'pg';
import { requestRotation } from '../engine/request.js';
import { InvalidInputError, RunFailedError } from '../errors.js';
import { activeRunWaits } from '../state/run-waits.js';
import { getRun, listSteps, type RunRow } from '../state/runs.js';
import { getSecret } from '../state/secrets.js';
import { cliActor, confirmByTypingId } from './confirm.js';
import { openQueue, openState, out } from './context.js';
import { ProgressPrinter, type ProgressMode } from './format/progress.js';
import { outputPalette } from './terminal.js';
import { unknownSecret } from './unknown-secret.js';

interface RotateOptions {
  emergency?: boolean;
  reason?: string;
  yes?: boolean;
  wait?: boolean;
  json?: boolean;
  force?: boolean;
  overrideFreeze?: boolean;
  actor?: string;
}

export function register(program: Command): void {
  program
    .command('rotate <secretId>')
    .description('rotate one secret now')
    .option('--emergency', 'jump the queue, ignore the window, use the emergency grace (needs --reason)')
    .option('--reason <text>', 'why: recorded in the audit trail')
    .option('--yes', 'do not ask for confirmation (required for --emergency without a terminal)')
    .option('--force', 'with --emergency: revoke even if consumers have not confirmed (recorded)')
    .option('--override-freeze', 'with --emergency: start even during a freeze window (recorded in the audit trail)')
    .option('--wait', 'follow the run until it ends; exit 5 if it needs attention')
    .option('--json', 'print the run as JSON (with --wait: JSON lines, one per change, the run last)')
    .option('--actor <name>', 'who asks (default: $USER)')
    .action(async (secretId: string, opts: RotateOptions) => rotate(secretId, opts));
}

async function rotate(secretId: string, opts: RotateOptions): Promise<void> {
  if (opts.emergency && !opts.reason?.trim()) {
    throw new InvalidInputError('an emergency rotation needs a reason', {
      hint: `rotor rotate ${secretId} --emergency --reason "leaked in incident 123"`,
    });
  }
  if (opts.force && !opts.emergency) throw new InvalidInputError('--force is only for --emergency rotations');
  if (opts.overrideFreeze && !opts.emergency) throw new InvalidInputError('--override-freeze is only for --emergency rotations');
  const state = await openState();
  try {
    const secret = await getSecret(state.pool, secretId);
    if (!secret || secret.status !== 'active') {
      throw await unknownSecret(state.pool, secretId, { message: `no active secret ${secretId}`, activeOnly: true });
    }
    if (opts.emergency) await confirmEmergency(secretId, opts);
    const kit = await openQueue(state);
    try {
      const actor = cliActor(opts.actor);
      const run = await requestRotation(state.pool, kit, {
        secretId,
        trigger: opts.emergency ? 'emergency' : 'manual',
        actor,
        reason: opts.reason ?? null,
        force: opts.force ?? false,
        overrideFreeze: opts.overrideFreeze ?? false,
      });
      if (!opts.json) {
        out(
          run.escalated
            ? `run ${run.id}, already under way for ${secretId}, escalated to an emergency (emergency grace, ahead of routine work)`
            : `run ${run.id} started for ${secretId}${opts.emergency ? ' (emergency)' : ''}`,
        );
      }
      const final = opts.wait ? await follow(state.pool, run.id, opts.json === true) : run;
      // With --wait, --json is JSON lines: the progress events, then the run as one last line.
      if (opts.json) out(opts.wait ? JSON.stringify({ event: 'end', ...final }) : JSON.stringify(final, null, 2));
      if (final.state === 'needs-attention') {
        throw new RunFailedError(`run ${run.id} needs attention: ${final.error ?? 'no reason recorded'}`, {
          hint: `see: rotor history ${secretId}`,
        });
      }
    } finally {
      await kit.close();
    }
  } finally {
    await state.close();
  }
}

async function confirmEmergency(secretId: string, opts: RotateOptions): Promise<void> {
  if (opts.yes) return;
  await confirmByTypingId(secretId, {
    action: `Emergency rotation of ${secretId}`,
    noTerminal: 'an emergency rotation without a terminal needs --yes',
    hint: 'add --yes to confirm in scripts',
  });
}

/**
 * Follows the run until it ends: each step once when it ends, and what the step in flight is doing
 * (a live line on a terminal, a line per change when piped, JSON lines with --json).
 */
async function follow(pool: pg.Pool, runId: string, json: boolean): Promise<RunRow> {
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
