// The run states, and the one list of the active ones (a run that still holds its secret), for
// TypeScript and for SQL alike.
export type RunState = 'queued' | 'running' | 'waiting' | 'done' | 'needs-attention';

/** A run in one of these states is the secret's one active run (runs_one_active_per_secret). */
export const ACTIVE_STATES: readonly RunState[] = ['queued', 'running', 'waiting'];

/**
 * ACTIVE_STATES as an SQL list, `('queued', 'running', 'waiting')`, for `state in ${ACTIVE_IN}`.
 * A literal rather than a parameter: the planner then matches the partial indexes on the active
 * runs (runs_one_active_per_secret, runs_active), whose predicates the migrations spell the same way.
 */
export const ACTIVE_IN = `(${ACTIVE_STATES.map((s) => `'${s}'`).join(', ')})`;
