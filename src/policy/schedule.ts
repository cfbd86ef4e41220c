// When a secret is next due: from the last success and the cadence, never before now, moved
// into the rotation window and out of its freezes, plus a per-secret jitter that is stable (derived from the id) so a
// plan previews exactly what the scheduler will do.
import { nextCronOccurrence } from './cadence.js';
import { thaw, type Freeze } from './freeze.js';
import type { ResolvedSecret } from './types.js';
import { openingAtOrAfter } from './window.js';

export interface NextDueInput {
  secret: Pick<ResolvedSecret, 'id' | 'schedule' | 'window' | 'jitterMs' | 'freezes'>;
  /** Null when the secret was never rotated: it is due now (inside its window). */
  lastSuccessAt: Date | null;
  now: Date;
}

export interface DueDetails {
  due: Date;
  /** What the cadence alone says (last success + cadence, or the next cron time); now if never rotated. */
  base: Date;
  /** The cadence's time had passed before now: the rotation is late. */
  overdue: boolean;
  /** Set when a freeze moved the due time: when that freeze ends, and which it is. */
  frozen: { until: Date; freeze: Freeze } | null;
}

/**
 * The next due time. An overdue secret is due now rather than in the past, so the scheduler, which
 * starts whatever is due, never starts it outside its window.
 */
export function nextDue(input: NextDueInput): Date {
  return dueDetails(input).due;
}

export function dueDetails({ secret, lastSuccessAt, now }: NextDueInput): DueDetails {
  const nowMs = now.getTime();
  let base = nowMs;
  if (lastSuccessAt) {
    const last = lastSuccessAt.getTime();
    base =
      secret.schedule.kind === 'interval'
        ? last + secret.schedule.ms
        : nextCronOccurrence(secret.schedule.expression, secret.schedule.tz, lastSuccessAt).getTime();
  }
  const from = Math.max(base, nowMs);
  const placed = placeAndThaw(secret, from);
  return { due: new Date(placed.due), base: new Date(base), overdue: base < nowMs, frozen: placed.frozen };
}

/**
 * `from` placed in the window (place), then past any freeze it falls in, and placed again from the
 * freeze's end, until a time is outside every freeze. Bounded: a window and freezes that never
 * leave room give the last time tried (validation keeps each freeze shorter than its recurrence).
 */
export function placeOutsideFreezes(secret: NextDueInput['secret'], from: number): number {
  return placeAndThaw(secret, from).due;
}

/** placeOutsideFreezes, and the last freeze it moved the time past (null: none did). */
function placeAndThaw(secret: NextDueInput['secret'], from: number): { due: number; frozen: DueDetails['frozen'] } {
  let due = place(secret, from);
  let frozen: DueDetails['frozen'] = null;
  for (let i = 0; i < 100 && secret.freezes?.length; i++) {
    const thawed = thaw(secret.freezes, due);
    if (!thawed) break;
    frozen = { until: new Date(thawed.until), freeze: thawed.freeze };
    due = place(secret, thawed.until);
  }
  return { due, frozen };
}

/** `from`, moved into the window and jittered; the jitter never leaves the opening. */
function place(secret: NextDueInput['secret'], from: number): number {
  const offset = secret.jitterMs > 0 ? Math.floor(unitHash(secret.id) * secret.jitterMs) : 0;
  if (!secret.window) return from + offset;
  const opening = openingAtOrAfter(secret.window, from);
  // No opening only for a window without days, which validation rejects; stay correct anyway.
  if (!opening) return from + offset;
  const start = Math.max(from, opening.start);
  const room = opening.end - start;
  return start + (offset < room ? offset : offset % room);
}

/**
 * A number in [0, 1) from the id: the same id always gets the same jitter. FNV-1a, then
 * murmur3's finalizer, because FNV alone leaves ids that differ in their last digit close together.
 */
export function unitHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}
