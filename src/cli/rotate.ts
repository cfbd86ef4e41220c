// rotor rotate <id> [--emergency]: starts a run now. Emergencies jump the routine queue, ignore the
// rotation window, use the class's emergency grace, and need a reason and a confirmation.
import type { Command } from 'commander';
import { requestRotation } from '../engine/request.js';
import { InvalidInputError } from '../errors.js';
import { getSecret } from '../state/secrets.js';
import { cliActor, confirmByTypingId } from './confirm.js';
import { openQueue, openState, out } from './context.js';
import { followAndReport } from './follow-run.js';
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
      await followAndReport(state.pool, run, opts);
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
