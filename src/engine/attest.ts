// Attested rotations (`rotor attest <id> --reason TEXT --value-stdin`): a person rotated a manual
// secret where it is issued and hands rotor the new value, for its consumers. It is a run like any
// other, trigger `attest`: the value is staged in the store as the run's PENDING version before the
// run's job exists (job data carries ids only, invariant 4), and the create step adopts it instead
// of generating one. From promote on it is every rotation: consumers told in waves, grace,
// confirmations, and a rollback (the value before it CURRENT again, consumers told again) when they
// do not confirm. The manual rotator has nothing to apply, verify or revoke (rotators/manual).
import type pg from 'pg';
import { AlreadyInProgressError, InvalidInputError, PermanentError, UnavailableError, coerceError } from '../errors.js';
import type { ResolvedSecret } from '../policy/types.js';
import type { QueueKit } from '../queue/backend.js';
import { redactError, trackSecret } from '../redact.js';
import type { SecretValue } from '../rotator/contract.js';
import { MANUAL_ROTATOR, manualParamsSchema, parseManualValue } from '../rotator/catalogue.js';
import { activeRun, type RunRow } from '../state/runs.js';
import type { SecretStore } from '../store/contract.js';
import { requestRotation } from './request.js';
import type { RunContext } from './run-context.js';

/** The version an attested rotation stages: one per run, never generated again by a retry. */
export function attestedVersionId(runId: string): string {
  return `${runId}-attested`;
}

/**
 * The secret's new value from what came on stdin, in the layout its manual rotator declares
 * (`target.fields`); InvalidInputError (nothing changed) when the secret is not manual or the text
 * does not fit. The value is tracked at once, so no log line or error can carry it.
 */
export function attestedValue(secret: ResolvedSecret, input: string): SecretValue {
  if (secret.rotator.name !== MANUAL_ROTATOR) {
    throw new InvalidInputError(
      `${secret.id} is rotated by rotor (rotator: ${secret.rotator.name}), not by a person; nothing was changed`,
      {
        hint: `--value-stdin is for rotator: manual; rotate it with: rotor rotate ${secret.id}`,
      },
    );
  }
  const value = parseManualValue(manualParamsSchema.parse(secret.rotator.params), input, secret.id);
  trackFields(value);
  return value;
}

export interface AttestRequest {
  actor: string;
  reason: string;
  value: SecretValue;
  overrideFreeze?: boolean | undefined;
}

/**
 * Starts the attested rotation of `secret` with `req.value`: refused (nothing changed) when the
 * store holds an unfinished rotation's PENDING version or already has this value as CURRENT; then
 * the run is created (trigger `attest`, audited with actor and reason as `run.requested`), the
 * value staged as its PENDING version, and its job queued. A value the store refused is thrown on;
 * the run then ends in needs-attention at its create step (unless the store took the value and only its answer was lost: then the run goes on).
 */
export async function requestAttestedRotation(
  pool: pg.Pool,
  kit: QueueKit,
  store: SecretStore,
  secret: ResolvedSecret,
  req: AttestRequest,
): Promise<RunRow> {
  const location = secret.store.location;
  // A run under way (an attested one before its promote holds its PENDING value): exit 4, as for rotate.
  const active = await activeRun(pool, secret.id);
  if (active) throw new AlreadyInProgressError(secret.id, active.id);
  const pending = (await store.describe(location)).find((v) => v.stages.includes('PENDING'));
  if (pending) {
    throw new InvalidInputError(
      `the ${store.backend} store holds PENDING version ${pending.versionId} of ${secret.id} from an unfinished rotation; nothing was changed`,
      { hint: `clear it with: rotor repair ${secret.id}, then attest again` },
    );
  }
  const current = await store.get(location, 'CURRENT');
  if (current) trackFields(current.value);
  if (current && sameValue(current.value, req.value)) {
    throw new InvalidInputError(
      `the value on stdin is already ${secret.id}'s CURRENT version (${current.versionId}); nothing was changed`,
      {
        hint: 'give the value issued by the rotation, not the one it replaced',
      },
    );
  }
  return requestRotation(pool, kit, {
    secretId: secret.id,
    trigger: 'attest',
    actor: req.actor,
    reason: req.reason,
    overrideFreeze: req.overrideFreeze,
    prepare: async (run) => {
      try {
        await store.putPending(location, attestedVersionId(run.id), req.value);
      } catch (err) {
        throw new UnavailableError(
          `the ${store.backend} store did not take the new value of ${secret.id}: ${redactError(coerceError(err)).message}; run ${run.id} ends in needs-attention (if the store took the value after all and only its answer was lost, the run goes on: rotor status ${secret.id})`,
          { cause: err, hint: `fix the store, then hand the value over again: rotor attest ${secret.id} --reason TEXT --value-stdin` },
        );
      }
    },
  });
}

/**
 * The create step of an attested rotation: the value the person gave is staged already, under the
 * run's version; it is adopted as the new version, never generated or applied. Idempotent.
 */
export async function adoptAttested(rc: RunContext): Promise<{ newVersion: string; oldVersion: string | null }> {
  const { run, store, location, secret } = rc;
  if (secret.rotator.name !== MANUAL_ROTATOR) {
    throw new PermanentError(
      `run ${run.id} is an attested rotation, but ${run.secretId} is rotated by rotor (rotator: ${secret.rotator.name})`,
      {
        hint: `rotate it with: rotor rotate ${run.secretId}`,
      },
    );
  }
  const versionId = attestedVersionId(run.id);
  const pending = await store.get(location, 'PENDING');
  if (pending?.versionId !== versionId) {
    throw new PermanentError(
      `the value handed to rotor attest is not in the ${store.backend} store (PENDING is ${pending ? `version ${pending.versionId}` : 'empty'}); nothing was changed`,
      { hint: `hand it over again: rotor attest ${run.secretId} --reason TEXT --value-stdin` },
    );
  }
  trackFields(pending.value);
  const current = await store.get(location, 'CURRENT');
  if (current) trackFields(current.value);
  return { newVersion: versionId, oldVersion: current?.versionId ?? null };
}

/**
 * Every text field of a manual secret's value is tracked, whatever its name: a person's fields
 * (`pin`, `passphrase`) need not look like secrets to the key-based rule of trackSecret.
 */
function trackFields(value: SecretValue): void {
  // Numbers too (a PIN as a number); a value under 6 characters cannot be scrubbed from text.
  for (const v of Object.values(value)) trackSecret(String(v));
}

function sameValue(a: SecretValue, b: SecretValue): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
