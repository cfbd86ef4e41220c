// The one thing the dashboard can change: an emergency rotation of one secret, through the same
// path as `rotor rotate --emergency` (requestRotation), with the operator recorded as the actor.
import type pg from 'pg';
import { requestRotation } from '../engine/request.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import type { QueueKit } from '../queue/backend.js';
import type { RunRow } from '../state/runs.js';
import { getSecret } from '../state/secrets.js';
import { OPERATOR_NAME } from './auth.js';

export interface EmergencyInput {
  secretId: string;
  /** Who asks; recorded as `dashboard:<operator>`. */
  operator: unknown;
  /** Why; required, recorded in the audit trail. */
  reason: unknown;
  /** The secret id typed again by the operator. */
  confirm: unknown;
  /** Start even during a freeze window (true, or a ticked form box): recorded in the audit trail. */
  overrideFreeze?: unknown;
}

const MAX_REASON = 500;

/** Validates the request, then starts the run. Throws InvalidInputError, NotFoundError or AlreadyInProgressError. */
export async function emergencyRotate(pool: pg.Pool, kit: QueueKit, input: EmergencyInput): Promise<RunRow> {
  const operator = typeof input.operator === 'string' ? input.operator.trim() : '';
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  const confirm = typeof input.confirm === 'string' ? input.confirm.trim() : '';
  if (!OPERATOR_NAME.test(operator)) {
    throw new InvalidInputError('give your name (letters, digits, . _ @ -; up to 64 characters): it is recorded in the audit trail');
  }
  if (!reason) throw new InvalidInputError('an emergency rotation needs a reason');
  if (reason.length > MAX_REASON) throw new InvalidInputError(`the reason is ${reason.length} characters; keep it to ${MAX_REASON}`);
  if (confirm !== input.secretId) {
    throw new InvalidInputError('not confirmed: type the secret id exactly to confirm; nothing was changed');
  }
  const secret = await getSecret(pool, input.secretId);
  if (!secret || secret.status !== 'active') throw new NotFoundError(`no active secret ${input.secretId}`);
  return requestRotation(pool, kit, {
    secretId: input.secretId,
    trigger: 'emergency',
    actor: `dashboard:${operator}`,
    reason,
    // Never forced from the dashboard: verification and consumer confirmation are not skippable here.
    force: false,
    overrideFreeze: input.overrideFreeze === true || input.overrideFreeze === 'on',
  });
}
