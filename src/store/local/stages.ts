// How the local store's stages move: pure functions over one location's versions, so the rules of
// the AWS Secrets Manager model can be tested without a database.
import type { Stage } from '../contract.js';

/** The order stages are listed in (describe, tests). */
export const STAGES: readonly Stage[] = ['CURRENT', 'PENDING', 'PREVIOUS'];

/** versionId → the stages it holds, for every version of one location. */
export type StageTable = ReadonlyMap<string, readonly Stage[]>;

/** A version whose stages change, with the stages it loses and gains. */
export interface StageChange {
  versionId: string;
  before: readonly Stage[];
  after: readonly Stage[];
}

export function holderOf(table: StageTable, stage: Stage): string | undefined {
  for (const [versionId, stages] of table) if (stages.includes(stage)) return versionId;
  return undefined;
}

/**
 * Makes `versionId` CURRENT. The former CURRENT becomes PREVIOUS (and the former PREVIOUS, if another
 * version, loses it). The target drops PENDING and PREVIOUS, so promoting PREVIOUS is a rollback
 * that swaps the two. Promoting the version that is already CURRENT changes nothing.
 * The caller has checked that `versionId` exists.
 */
export function promoteStages(table: StageTable, versionId: string): StageTable {
  const next = copy(table);
  const target = next.get(versionId);
  if (!target || target.has('CURRENT')) return freeze(next);
  const former = holderOf(table, 'CURRENT');
  if (former !== undefined) {
    // With no former CURRENT there is nothing to become PREVIOUS, so an existing PREVIOUS stays.
    for (const stages of next.values()) stages.delete('PREVIOUS');
    const f = next.get(former);
    f?.delete('CURRENT');
    f?.add('PREVIOUS');
  }
  target.delete('PENDING');
  target.delete('PREVIOUS');
  target.add('CURRENT');
  return freeze(next);
}

/** Removes one stage from whichever version holds it (`versionId` restricts it to that version). */
export function removeStage(table: StageTable, stage: Stage, versionId?: string): StageTable {
  const next = copy(table);
  for (const [id, stages] of next) if (versionId === undefined || id === versionId) stages.delete(stage);
  return freeze(next);
}

/**
 * The updates that turn `before` into `after`, in two phases. PostgreSQL checks a unique index row by
 * row, so a swap (rollback) would trip the one-version-per-stage indexes if a version gained a stage
 * before the other lost it: every removal is applied first, then every addition.
 */
export function stageUpdates(before: StageTable, after: StageTable): { removals: StageChange[]; additions: StageChange[] } {
  const removals: StageChange[] = [];
  const additions: StageChange[] = [];
  for (const [versionId, was] of before) {
    const will = after.get(versionId) ?? [];
    if (sameStages(was, will)) continue;
    const kept = was.filter((s) => will.includes(s));
    if (kept.length !== was.length) removals.push({ versionId, before: was, after: kept });
    if (kept.length !== will.length) additions.push({ versionId, before: kept, after: will });
  }
  return { removals, additions };
}

/** True when no stage is held by two versions: the invariant the database also enforces. */
export function isConsistent(table: StageTable): boolean {
  return STAGES.every((stage) => [...table.values()].filter((s) => s.includes(stage)).length <= 1);
}

/** Stages in a fixed order, as stored and shown. */
export function ordered(stages: Iterable<Stage>): Stage[] {
  const set = new Set(stages);
  return STAGES.filter((s) => set.has(s));
}

function sameStages(a: readonly Stage[], b: readonly Stage[]): boolean {
  return a.length === b.length && a.every((s) => b.includes(s));
}

function copy(table: StageTable): Map<string, Set<Stage>> {
  return new Map([...table].map(([id, stages]) => [id, new Set(stages)]));
}

function freeze(table: Map<string, Set<Stage>>): StageTable {
  return new Map([...table].map(([id, stages]) => [id, ordered(stages)]));
}
