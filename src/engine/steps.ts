// The steps of a run, in order, and what each one does. The order of effects is the safety argument:
// the new credential is stored (PENDING) before it is applied, verified before it is promoted,
// and the old one is revoked only after grace, consumer confirmation and the drain check.
export const STEPS = ['create', 'verify-new', 'promote', 'distribute', 'grace', 'verify-consumers', 'revoke', 'finish'] as const;
/** Failure paths: before promote the new credential is discarded, after it the run rolls back. */
export const FAILURE_STEPS = ['discard', 'rollback'] as const;

export type Step = (typeof STEPS)[number] | (typeof FAILURE_STEPS)[number];

export function nextStep(step: (typeof STEPS)[number]): Step {
  const i = STEPS.indexOf(step);
  return STEPS[i + 1] ?? 'finish';
}

/** True once the new credential may be what consumers read: failures then need a rollback. */
export function isPromoted(step: Step): boolean {
  return STEPS.indexOf(step as (typeof STEPS)[number]) > STEPS.indexOf('promote');
}
