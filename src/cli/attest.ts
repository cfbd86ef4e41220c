// rotor attest <id> --reason TEXT: records that a person rotated a manual secret (rotator: manual)
// where it is issued. Its clock resets as after a successful run; the audit trail says who and why.
import type { Command } from 'commander';
import { InvalidInputError } from '../errors.js';
import { nextDue } from '../policy/schedule.js';
import { MANUAL_ROTATOR } from '../rotator/catalogue.js';
import { getSecret, recordAttestation } from '../state/secrets.js';
import { cliActor } from './confirm.js';
import { openState, out } from './context.js';
import { unknownSecret } from './unknown-secret.js';

export function register(program: Command): void {
  program
    .command('attest <secretId>')
    .description('record that a person rotated a manual secret (rotator: manual); resets its cadence, audited')
    .requiredOption('--reason <text>', 'what was done, e.g. "new key issued in the partner portal"')
    .option('--actor <name>', 'who rotated it (default: $USER)')
    .option('--json', 'machine-readable output')
    .action(async (secretId: string, opts: { reason: string; actor?: string; json?: boolean }) => {
      const reason = opts.reason.trim();
      if (!reason)
        throw new InvalidInputError('an attestation needs a reason', { hint: `rotor attest ${secretId} --reason "rotated in the portal"` });
      const state = await openState();
      try {
        const secret = await getSecret(state.pool, secretId);
        if (!secret || secret.status !== 'active') {
          throw await unknownSecret(state.pool, secretId, { message: `no active secret ${secretId}`, activeOnly: true });
        }
        if (secret.policy.rotator.name !== MANUAL_ROTATOR) {
          throw new InvalidInputError(`${secretId} is rotated by rotor (rotator: ${secret.policy.rotator.name}), not by a person`, {
            hint: `attest is for rotator: manual; rotate it with: rotor rotate ${secretId}`,
          });
        }
        const at = new Date();
        const nextDueAt = nextDue({ secret: secret.policy, lastSuccessAt: at, now: at });
        await recordAttestation(state.pool, secretId, { actor: cliActor(opts.actor), reason, at, nextDueAt });
        if (opts.json) out(JSON.stringify({ secretId, attestedAt: at.toISOString(), nextDueAt: nextDueAt.toISOString() }));
        else out(`${secretId}: rotation recorded at ${at.toISOString()}; next due ${nextDueAt.toISOString()}`);
      } finally {
        await state.close();
      }
    });
}
