// Starting an incident from the dashboard: the same plan and start as `rotor incident start`
// (src/engine/incident.ts), the operator recorded as the actor, confirmed by typing the number of
// secrets the plan selects. Freezes are overridden only when the operator ticks the box the form
// offers once the plan has frozen secrets (`--override-freeze` on the command line).
import type pg from 'pg';
import { DEFAULT_PER_TARGET, EMPTY_SELECTION, frozenCount, planIncident, selectionIsEmpty, startIncident } from '../engine/incident.js';
import { InvalidInputError } from '../errors.js';
import type { QueueKit } from '../queue/backend.js';
import { recentRunMs, type IncidentRow, type IncidentSelection } from '../state/incidents.js';
import { listSecrets } from '../state/secrets.js';
import { OPERATOR_NAME } from './auth.js';

export interface IncidentInput {
  operator: unknown;
  reason: unknown;
  /** Comma- or space-separated lists, as typed in the form. */
  tags: unknown;
  owners: unknown;
  classes: unknown;
  targets: unknown;
  consumers: unknown;
  ids: unknown;
  perTarget: unknown;
  /** The number of secrets the plan selects, typed again by the operator. */
  confirm: unknown;
  /** Start runs inside freeze windows too (true, or a ticked form box): each audited as run.freeze-overridden. */
  overrideFreeze?: unknown;
}

/** The typed count is missing or wrong: says what the plan selects, so the form can say it too. */
export class IncidentNotConfirmedError extends InvalidInputError {
  constructor(
    readonly secrets: number,
    /** How many of them are inside a freeze now. */
    readonly frozen: number,
  ) {
    super(
      `not confirmed: the selection has ${secrets} secrets${frozen ? ` (${frozen} inside a freeze now)` : ''}; type that number to confirm. Nothing was changed`,
    );
  }
}

const MAX_REASON = 500;

const list = (v: unknown): string[] => (typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : []);

export function selectionOf(
  input: Pick<IncidentInput, 'tags' | 'owners' | 'classes' | 'targets' | 'consumers' | 'ids'>,
): IncidentSelection {
  return {
    ...EMPTY_SELECTION,
    tags: list(input.tags),
    owners: list(input.owners),
    classes: list(input.classes),
    targets: list(input.targets),
    consumers: list(input.consumers),
    ids: list(input.ids),
  };
}

/** Validates the request, plans, checks the typed count against the plan, then starts. */
export async function startIncidentFromDashboard(pool: pg.Pool, kit: QueueKit, input: IncidentInput): Promise<IncidentRow> {
  const operator = typeof input.operator === 'string' ? input.operator.trim() : '';
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (!OPERATOR_NAME.test(operator)) {
    throw new InvalidInputError('give your name (letters, digits, . _ @ -; up to 64 characters): it is recorded in the audit trail');
  }
  if (!reason) throw new InvalidInputError('an incident needs a reason');
  if (reason.length > MAX_REASON) throw new InvalidInputError(`the reason is ${reason.length} characters; keep it to ${MAX_REASON}`);
  const perTarget = input.perTarget === undefined || input.perTarget === '' ? DEFAULT_PER_TARGET : Number(input.perTarget);
  if (!Number.isInteger(perTarget) || perTarget < 1 || perTarget > 100)
    throw new InvalidInputError('runs per target must be a whole number from 1 to 100');
  const selection = selectionOf(input);
  if (selectionIsEmpty(selection))
    throw new InvalidInputError('select the blast radius: at least one tag, owner, class, target, consumer or id');
  const secrets = await listSecrets(pool);
  const first = planIncident(secrets, selection, perTarget, null);
  if (first.unknownIds.length)
    throw new InvalidInputError(`no active secret: ${first.unknownIds.slice(0, 5).join(', ')}; nothing was started`);
  if (!first.secrets.length) throw new InvalidInputError('the selection matches no active secret: nothing to rotate');
  const confirm = typeof input.confirm === 'string' ? input.confirm.trim() : '';
  if (confirm !== String(first.secrets.length)) throw new IncidentNotConfirmedError(first.secrets.length, frozenCount(first));
  const plan = planIncident(
    secrets,
    selection,
    perTarget,
    await recentRunMs(
      pool,
      first.secrets.map((s) => s.secretId),
    ),
  );
  return startIncident(pool, kit, {
    actor: `dashboard:${operator}`,
    reason,
    selection,
    plan,
    overrideFreeze: input.overrideFreeze === true || input.overrideFreeze === 'on',
  });
}
