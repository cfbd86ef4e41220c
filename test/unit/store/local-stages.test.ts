import { describe, expect, it } from 'vitest';
import type { Stage } from '../../../src/store/contract.js';
import { isConsistent, promoteStages, removeStage, stageUpdates, type StageTable } from '../../../src/store/local/stages.js';

const table = (entries: Record<string, Stage[]>): StageTable => new Map(Object.entries(entries));
const plain = (t: StageTable): Record<string, readonly Stage[]> => Object.fromEntries(t);

describe('stage transitions', () => {
  it('promotes PENDING to CURRENT and moves the former CURRENT to PREVIOUS', () => {
    const after = promoteStages(table({ v1: ['CURRENT'], v0: ['PREVIOUS'], v2: ['PENDING'] }), 'v2');
    expect(plain(after)).toEqual({ v1: ['PREVIOUS'], v0: [], v2: ['CURRENT'] });
  });

  it('promotes the first version without inventing a PREVIOUS', () => {
    expect(plain(promoteStages(table({ v1: ['PENDING'] }), 'v1'))).toEqual({ v1: ['CURRENT'] });
  });

  it('rolls back by swapping CURRENT and PREVIOUS', () => {
    const after = promoteStages(table({ v1: ['PREVIOUS'], v2: ['CURRENT'] }), 'v1');
    expect(plain(after)).toEqual({ v1: ['CURRENT'], v2: ['PREVIOUS'] });
  });

  it('changes nothing when the version is already CURRENT', () => {
    const before = table({ v1: ['PREVIOUS'], v2: ['CURRENT'], v3: ['PENDING'] });
    expect(plain(promoteStages(before, 'v2'))).toEqual(plain(before));
  });

  it('leaves another version PENDING when promoting', () => {
    const after = promoteStages(table({ v1: ['CURRENT'], v2: [], v3: ['PENDING'] }), 'v2');
    expect(plain(after)).toEqual({ v1: ['PREVIOUS'], v2: ['CURRENT'], v3: ['PENDING'] });
  });

  it('removes PENDING only from the version named, and PREVIOUS from whoever holds it', () => {
    const before = table({ v1: ['CURRENT'], v2: ['PENDING'], v0: ['PREVIOUS'] });
    expect(plain(removeStage(before, 'PENDING', 'v1'))).toEqual(plain(before));
    expect(plain(removeStage(before, 'PENDING', 'v2'))).toEqual({ v1: ['CURRENT'], v2: [], v0: ['PREVIOUS'] });
    expect(plain(removeStage(before, 'PREVIOUS'))).toEqual({ v1: ['CURRENT'], v2: ['PENDING'], v0: [] });
  });

  it('orders updates so that no intermediate state has a stage on two versions', () => {
    const before = table({ v1: ['PREVIOUS'], v2: ['CURRENT'], v3: ['PENDING'] });
    const after = promoteStages(before, 'v1');
    const { removals, additions } = stageUpdates(before, after);
    const state = new Map([...before].map(([k, v]) => [k, [...v]]));
    for (const change of [...removals, ...additions]) {
      state.set(change.versionId, [...change.after]);
      expect(isConsistent(state)).toBe(true);
    }
    expect(Object.fromEntries(state)).toEqual(plain(after));
  });

  it('keeps every stage on at most one version through any sequence of calls', () => {
    let seed = 42;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let t: StageTable = new Map();
    for (let i = 0; i < 2_000; i++) {
      const ids = [...t.keys()];
      const pick = ids[rand(Math.max(ids.length, 1))];
      const op = rand(4);
      if (op === 0 && !isHeld(t, 'PENDING')) t = new Map([...t, [`v${i}`, ['PENDING']]]);
      else if (op === 1 && pick) t = promoteStages(t, pick);
      else if (op === 2 && pick) t = removeStage(t, 'PENDING', pick);
      else if (op === 3) t = removeStage(t, 'PREVIOUS');
      expect(isConsistent(t)).toBe(true);
    }
  });
});

function isHeld(t: StageTable, stage: Stage): boolean {
  return [...t.values()].some((s) => s.includes(stage));
}
