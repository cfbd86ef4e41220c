// The run-state machine: which state a run may move to from which, the one table the engine checks
// before it writes a run's state and that the state queries' guards are derived from.
import type { RunState } from '../state/runs.js';

/**
 * From each state, the states a run may enter. `done` and `needs-attention` are terminal: an ended
 * run is never resumed (a new rotation is a new run). `running → running` is a pass re-claiming a
 * run whose lease expired, or a step starting on a run already claimed. `waiting` is left only by
 * a pass claiming the run again; a run never ends while waiting, because only a pass that holds it
 * (and so made it running) may end it.
 */
export const RUN_TRANSITIONS = {
  queued: ['running'],
  running: ['running', 'waiting', 'done', 'needs-attention'],
  waiting: ['running'],
  done: [],
  'needs-attention': [],
} as const satisfies Record<RunState, readonly RunState[]>;

/** Every run is created in this state (the table's default in 0001_init.sql). */
export const INITIAL_RUN_STATE = 'queued' satisfies RunState;

export function canTransition(from: RunState, to: RunState): boolean {
  return (RUN_TRANSITIONS[from] as readonly RunState[]).includes(to);
}

/** The states from which a run may enter `to`: the guard of an update that moves runs into `to`. */
export function statesBefore(to: RunState): RunState[] {
  return (Object.keys(RUN_TRANSITIONS) as RunState[]).filter((from) => canTransition(from, to));
}

/** A change of a run's state that the table forbids: a bug in rotor, never retried. */
export class ForbiddenTransitionError extends Error {
  override name = 'ForbiddenTransitionError';
  constructor(runId: string, from: RunState, to: RunState) {
    super(
      `run ${runId}: a run in state ${from} cannot move to ${to} (allowed: ${RUN_TRANSITIONS[from].join(', ') || 'none, it has ended'})`,
    );
  }
}

/** Throws ForbiddenTransitionError unless `from → to` is in the table. */
export function assertTransition(runId: string, from: RunState, to: RunState): void {
  if (!canTransition(from, to)) throw new ForbiddenTransitionError(runId, from, to);
}
