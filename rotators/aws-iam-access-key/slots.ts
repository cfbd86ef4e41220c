// IAM's two keys per user as rotor's two slots: which keys are whose, which may be deleted to make
// room for a new key, and when rotor must refuse instead. Pure: the decision, not the calls, so the
// rules are tested on their own (test/unit/rotators/aws-iam-access-key-slots.test.ts).
import type { KeyFacts } from './iam.js';

/** IAM's quota AccessKeysPerUser. */
export const KEYS_PER_USER = 2;

export type KeyRole =
  /** The key the store holds as CURRENT: never touched by create. */
  | { kind: 'current' }
  /** A key rotor deactivated (its `rotor:held:` tag says when): deleted once its hold is over. */
  | { kind: 'held'; since: Date; until: Date }
  /** Active and not CURRENT: someone else's, or one rotor deactivated and someone brought back. Never touched. */
  | { kind: 'active-other'; reactivated: boolean }
  /** Inactive without rotor's tag: someone else deactivated it. Never touched. */
  | { kind: 'inactive-other' };

export interface ClassifiedKey extends KeyFacts {
  role: KeyRole;
}

export function classify(keys: KeyFacts[], currentId: string | undefined, held: Map<string, Date>, holdMs: number): ClassifiedKey[] {
  return keys.map((k) => {
    const since = held.get(k.id);
    let role: KeyRole;
    if (k.id === currentId) role = { kind: 'current' };
    else if (k.status === 'Active') role = { kind: 'active-other', reactivated: since !== undefined };
    else if (since) role = { kind: 'held', since, until: new Date(since.getTime() + holdMs) };
    else role = { kind: 'inactive-other' };
    return { ...k, role };
  });
}

export interface SlotPlan {
  /** Held keys past their hold: deleted whether or not a slot is needed. */
  expired: ClassifiedKey[];
  /** A held key still in its hold, deleted because an emergency needs its slot. */
  early?: ClassifiedKey;
  /** Set when no slot can be freed: the keys in the way (none of them rotor may touch now). */
  blocked?: ClassifiedKey[];
}

/**
 * What to delete before CreateAccessKey. Held keys past their hold always go. When the user still
 * has no free slot, an emergency takes the oldest held key's slot even within its hold (a fresh key
 * now matters more than the way back to a key two rotations old); any other run is refused, as it
 * is when the keys in the way are not rotor's to delete.
 */
export function planSlots(keys: ClassifiedKey[], now: Date, emergency: boolean): SlotPlan {
  const expired = keys.filter((k) => k.role.kind === 'held' && k.role.until.getTime() <= now.getTime());
  const left = keys.filter((k) => !expired.includes(k));
  if (left.length < KEYS_PER_USER) return { expired };
  const held = left.filter((k) => k.role.kind === 'held');
  if (emergency && held.length) return { expired, early: held[0] };
  return { expired, blocked: left.filter((k) => k.role.kind !== 'current') };
}
