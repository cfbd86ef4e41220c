// The record rotor keeps on the IAM user while a CreateAccessKey is in flight, and how it tells its
// own orphan from anyone else's key afterwards. AWS gives a new key's secret only in that call's
// answer: a worker killed before the answer reached the store, or an answer lost on the network,
// leaves a live key whose secret nobody has. Before the call rotor tags the user with the run, the
// time and the keys the user had; the create step that comes next (the same run's next attempt, or
// the secret's next run) finds the tag and deletes the key the call made. Pure: the calls are in
// iam.ts, the rule is tested on its own (test/unit/rotators/aws-iam-access-key-intent.test.ts).
import { createHash } from 'node:crypto';
import type { KeyFacts } from './iam.js';

/** The tag key prefix on the user: `rotor:creating:<secret fingerprint>` = `<runId> <time> <known key ids...>`. */
export const CREATING_TAG_PREFIX = 'rotor:creating:';

/**
 * How far from the recorded time a key's CreateDate may be and still be the call's own: rotor's
 * clock against AWS's (SigV4 refuses requests more than 5 minutes off) and the call's duration.
 */
export const INTENT_WINDOW_MS = 5 * 60_000;

export interface CreateIntent {
  /** The run whose create step recorded it (for the log: which rotation was interrupted). */
  runId: string;
  /** When, by rotor's clock, just before CreateAccessKey was sent. */
  at: Date;
  /** The user's keys at that moment: none of them can be the call's. */
  known: string[];
}

/**
 * The tag key of one secret's intent. A fingerprint of the secret id, not the id itself: ids may be
 * longer than IAM's 128 characters for a tag key. One secret, one tag: a later intent replaces it.
 */
export function intentTagKey(secretId: string): string {
  return `${CREATING_TAG_PREFIX}${createHash('sha256').update(secretId).digest('hex').slice(0, 24)}`;
}

/** The tag value: only characters IAM allows in tag values (letters, digits, spaces, `_.:/=+-@`). */
export function formatIntent(intent: CreateIntent): string {
  return [intent.runId, intent.at.toISOString(), ...intent.known].join(' ');
}

/** The intent a tag value records; undefined for a value someone edited into something else. */
export function parseIntent(value: string): CreateIntent | undefined {
  const [runId, at, ...known] = value.trim().split(/\s+/);
  const time = new Date(at ?? '');
  if (!runId || Number.isNaN(time.getTime()) || !known.every((id) => /^\w{16,128}$/.test(id))) return undefined;
  return { runId, at: time, known };
}

/**
 * The keys that may be the interrupted call's: active (CreateAccessKey makes them so, and nobody
 * has touched them since), not among the keys the user had, not the key the store holds as
 * CURRENT, and created within INTENT_WINDOW_MS of the recorded time. The caller still asks IAM
 * whether each was ever used: the call's own key cannot have been (its secret was never stored),
 * so a key that was is someone else's and is never touched.
 */
export function orphanCandidates(keys: KeyFacts[], intent: CreateIntent, currentId: string | undefined): KeyFacts[] {
  const known = new Set(intent.known);
  const at = intent.at.getTime();
  return keys.filter(
    (k) => k.status === 'Active' && !known.has(k.id) && k.id !== currentId && Math.abs(k.created.getTime() - at) <= INTENT_WINDOW_MS,
  );
}
