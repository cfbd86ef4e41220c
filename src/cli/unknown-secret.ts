// The error for a secret id that is not there, with the closest known ids ("did you mean") so a
// typo costs one look instead of a `rotor status` and a search.
import { NotFoundError } from '../errors.js';
import { editDistance } from '../policy/suggest.js';
import type { Queryable } from '../state/db.js';
import { listSecrets } from '../state/secrets.js';

/** Up to `max` known ids close enough to `id` to be what was meant, closest first. */
export function closestIds(id: string, known: readonly string[], max = 3): string[] {
  // A third of the length, as for flags and policy keys (policy/suggest.ts): a typo, not a guess.
  const limit = Math.max(1, Math.floor(id.length / 3));
  return known
    .map((k) => ({ k, d: Math.min(editDistance(id, k), editDistance(id, k.split('/').pop() ?? k) + 1) }))
    .filter((c) => c.d <= limit)
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, max)
    .map((c) => c.k);
}

/** `no secret <id>`, hinting at the closest ids, or at `rotor status` when none is close. */
export async function unknownSecret(
  db: Queryable,
  id: string,
  opts: { message?: string; activeOnly?: boolean } = {},
): Promise<NotFoundError> {
  const known = (await listSecrets(db, { includeRetired: !opts.activeOnly })).map((s) => s.id);
  const near = closestIds(id, known);
  const hint = near.length
    ? `did you mean ${near.map((n) => `\`${n}\``).join(', ')}? (all of them: rotor status)`
    : 'list them with: rotor status';
  return new NotFoundError(opts.message ?? `no secret ${id}`, { hint });
}
