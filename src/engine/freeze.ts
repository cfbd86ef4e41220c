// Whether a run asked for by a person may start during a freeze: the one decision `rotor rotate`,
// the dashboard and the API make through requestRotation, and that `rotor incident` makes too.
// Scheduled runs never reach it: the scheduler defers a frozen secret past its freeze instead.
import { InvalidInputError } from '../errors.js';
import { freezeAt } from '../policy/freeze.js';
import type { ResolvedSecret } from '../policy/types.js';
import type { RunTrigger } from '../state/runs.js';

export type FreezeDecision =
  | { frozen: false }
  | {
      frozen: true;
      /** When the freeze (with any span that adjoins it) ends. */
      until: Date;
      /** The freeze as the policy says it, e.g. `3d from "0 0 L * *" Europe/Berlin`. */
      text: string;
      reason: string | null;
      /** True when an emergency or attestation asked to override it (--override-freeze): the run may start, audited. */
      overridden: boolean;
    };

/**
 * Is `policy` frozen at `now`, and does this request override it? Only an emergency or an attested
 * rotation (a manual secret's new value, which may no longer wait) with `overrideFreeze` overrides;
 * anything else asked during a freeze is refused by refuseFrozen.
 */
export function freezeDecision(
  policy: Pick<ResolvedSecret, 'freezes'> | null | undefined,
  now: Date,
  req: { trigger: RunTrigger; overrideFreeze?: boolean | undefined },
): FreezeDecision {
  const span = freezeAt(policy?.freezes, now.getTime());
  if (!span) return { frozen: false };
  let end = span.end;
  for (let next = freezeAt(policy?.freezes, end); next && end < next.end; next = freezeAt(policy?.freezes, end)) end = next.end;
  return {
    frozen: true,
    until: new Date(end),
    text: span.freeze.text,
    reason: span.freeze.reason ?? null,
    overridden: (req.trigger === 'emergency' || req.trigger === 'attest') && req.overrideFreeze === true,
  };
}

/** Throws (exit 2, nothing started) when the decision is a freeze that is not overridden. */
export function refuseFrozen(secretId: string, d: FreezeDecision, trigger: RunTrigger): void {
  if (!d.frozen || d.overridden) return;
  throw new InvalidInputError(
    `${secretId} is frozen until ${d.until.toISOString()} (${d.reason ? `${d.reason}: ` : ''}${d.text}); no rotation was started`,
    {
      hint:
        trigger === 'emergency'
          ? 'if it cannot wait, add --override-freeze (recorded in the audit trail)'
          : trigger === 'attest'
            ? 'if its consumers cannot wait for the new value, add --override-freeze (recorded in the audit trail); to record the rotation alone, attest without --value-stdin'
            : 'wait until the freeze ends, or, if it cannot wait, rotate it as an emergency with --override-freeze',
    },
  );
}
