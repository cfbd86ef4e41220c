// rotor attest <id> --reason TEXT: records that a person rotated a manual secret (rotator: manual)
// where it is issued. Its clock resets as after a successful run; the audit trail says who and why.
// With --value-stdin the person also hands over the new value: it becomes an attested rotation, a
// run like any other that stores it and takes it to the consumers (src/engine/attest.ts).
import type { Command } from 'commander';
import { attestedValue, requestAttestedRotation } from '../engine/attest.js';
import { InvalidInputError, PermanentError } from '../errors.js';
import { nextDue } from '../policy/schedule.js';
import { MANUAL_ROTATOR } from '../rotator/catalogue.js';
import { getSecret, recordAttestation, type SecretRow } from '../state/secrets.js';
import { cliActor } from './confirm.js';
import { openQueue, openState, openStores, out, type StateHandle } from './context.js';
import { followAndReport } from './follow-run.js';
import { readSecretStdin } from './secret-stdin.js';
import { unknownSecret } from './unknown-secret.js';

interface AttestOptions {
  reason: string;
  valueStdin?: boolean;
  overrideFreeze?: boolean;
  wait?: boolean;
  actor?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('attest <secretId>')
    .description('record that a person rotated a manual secret (rotator: manual); resets its cadence, audited')
    .requiredOption('--reason <text>', 'what was done, e.g. "new key issued in the partner portal"')
    .option('--value-stdin', 'also read the new value from stdin, store it and take it to the consumers (a run, as for any rotation)')
    .option('--override-freeze', 'with --value-stdin: start even during a freeze window (recorded in the audit trail)')
    .option('--wait', 'with --value-stdin: follow the run until it ends; exit 5 if it needs attention')
    .option('--actor <name>', 'who rotated it (default: $USER)')
    .option('--json', 'machine-readable output')
    .action(async (secretId: string, opts: AttestOptions) => attest(secretId, opts));
}

async function attest(secretId: string, opts: AttestOptions): Promise<void> {
  const reason = opts.reason.trim();
  if (!reason)
    throw new InvalidInputError('an attestation needs a reason', { hint: `rotor attest ${secretId} --reason "rotated in the portal"` });
  for (const [flag, given] of [
    ['--wait', opts.wait],
    ['--override-freeze', opts.overrideFreeze],
  ] as const) {
    if (given && !opts.valueStdin) throw new InvalidInputError(`${flag} is only for attest --value-stdin (which starts a run)`);
  }
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
    if (opts.valueStdin) return await attestWithValue(state, secret, { ...opts, reason });
    const at = new Date();
    const nextDueAt = nextDue({ secret: secret.policy, lastSuccessAt: at, now: at });
    await recordAttestation(state.pool, secretId, { actor: cliActor(opts.actor), reason, at, nextDueAt });
    if (opts.json) out(JSON.stringify({ secretId, attestedAt: at.toISOString(), nextDueAt: nextDueAt.toISOString() }));
    else out(`${secretId}: rotation recorded at ${at.toISOString()}; next due ${nextDueAt.toISOString()}`);
  } finally {
    await state.close();
  }
}

/**
 * The value from stdin, checked against the secret's layout before anything changes; then the
 * attested rotation's run, followed with --wait. Its `run.requested` audit row carries the actor
 * and reason; the clock resets when the run is done.
 */
async function attestWithValue(state: StateHandle, secret: SecretRow, opts: AttestOptions): Promise<void> {
  const secretId = secret.id;
  const value = attestedValue(secret.policy, await readSecretStdin(`rotor attest ${secretId} --reason TEXT --value-stdin`));
  const { stores } = await openStores(state);
  const store = stores[secret.policy.store.backend];
  if (!store) throw new PermanentError(`secret store ${secret.policy.store.backend} is not available in this build of rotor`);
  const kit = await openQueue(state);
  try {
    const run = await requestAttestedRotation(state.pool, kit, store, secret.policy, {
      actor: cliActor(opts.actor),
      reason: opts.reason,
      value,
      overrideFreeze: opts.overrideFreeze,
    });
    const consumers = secret.policy.consumers.length;
    if (!opts.json) {
      out(`run ${run.id} started for ${secretId} (attested: the new value goes to ${consumers} consumer${consumers === 1 ? '' : 's'})`);
    }
    const final = await followAndReport(state.pool, run, opts);
    if (opts.json) return;
    out(
      final.state === 'done'
        ? `${secretId}: the new value is CURRENT and every consumer confirmed it; the old one can be deleted where it is issued`
        : `follow it with: rotor history ${secretId}; delete the old value where it is issued only once the run is done`,
    );
  } finally {
    await kit.close();
  }
}
