import { describe, expect, it } from 'vitest';
import {
  ForbiddenTransitionError,
  INITIAL_RUN_STATE,
  RUN_TRANSITIONS,
  assertTransition,
  canTransition,
  statesBefore,
} from '../../../src/engine/transitions.js';
import { ACTIVE_STATES, type RunState } from '../../../src/state/runs.js';

const ALL: RunState[] = ['queued', 'running', 'waiting', 'done', 'needs-attention'];

/** Every state change the engine performs (processor.ts, claimRun, markWaiting), as from → to. */
const PERFORMED: Array<[RunState, RunState]> = [
  ['queued', 'running'], // a pass claims a new run
  ['waiting', 'running'], // a pass claims a run whose wait (grace, backoff, stagger, yield) is over
  ['running', 'running'], // a pass re-claims a run whose lease expired; a step starts
  ['running', 'waiting'], // a step waits, fails with retries left, or yields to an emergency
  ['running', 'done'], // the finish step
  ['running', 'needs-attention'], // discard or rollback ended, or the run cannot run at all
];

describe('the table of run-state transitions', () => {
  it('names every run state, and nothing else', () => {
    expect(Object.keys(RUN_TRANSITIONS).sort()).toEqual([...ALL].sort());
    for (const targets of Object.values(RUN_TRANSITIONS)) for (const to of targets) expect(ALL).toContain(to);
  });

  it('allows every transition the engine performs', () => {
    for (const [from, to] of PERFORMED) expect(canTransition(from, to), `${from} → ${to}`).toBe(true);
  });

  it('allows nothing else', () => {
    const allowed = ALL.flatMap((from) => ALL.filter((to) => canTransition(from, to)).map((to) => `${from} → ${to}`));
    expect(allowed.sort()).toEqual(PERFORMED.map(([f, t]) => `${f} → ${t}`).sort());
  });

  it('refuses to move an ended run: done → running, needs-attention → queued, done → needs-attention', () => {
    expect(() => assertTransition('run-1', 'done', 'running')).toThrow(ForbiddenTransitionError);
    expect(() => assertTransition('run-1', 'done', 'running')).toThrow(
      /run run-1: a run in state done cannot move to running \(allowed: none, it has ended\)/,
    );
    expect(() => assertTransition('run-1', 'needs-attention', 'queued')).toThrow(ForbiddenTransitionError);
    expect(() => assertTransition('run-1', 'done', 'needs-attention')).toThrow(ForbiddenTransitionError);
  });

  it('never lets a run end while waiting or queued: only the pass that holds it (running) ends it', () => {
    for (const end of ['done', 'needs-attention'] as const) {
      expect(statesBefore(end)).toEqual(['running']);
      expect(() => assertTransition('run-1', 'waiting', end)).toThrow(/allowed: running/);
    }
    expect(() => assertTransition('run-1', 'queued', 'waiting')).toThrow(ForbiddenTransitionError);
  });

  it('agrees with the active states: a run can be claimed (moved to running) exactly while it is active', () => {
    expect([...statesBefore('running')].sort()).toEqual([...ACTIVE_STATES].sort());
    const nonTerminal = ALL.filter((s) => RUN_TRANSITIONS[s].length > 0);
    expect(nonTerminal.sort()).toEqual([...ACTIVE_STATES].sort());
    expect(ACTIVE_STATES).toContain(INITIAL_RUN_STATE);
  });
});
