// Queue names and job options. Names contain no ':' (BullMQ forbids it in ids and names).

/** Routine runs (schedule and manual). */
export const RUNS_QUEUE = 'rotor-runs';
/** Emergency runs: their own queue and workers, so they never wait behind a routine backlog. */
export const EMERGENCY_QUEUE = 'rotor-emergency';
/** Incident drivers: one job per incident, which starts its emergency runs in order (src/engine/incident.ts). */
export const INCIDENT_QUEUE = 'rotor-incident';
/** The scheduler's tick: it only enqueues runs, never rotates (a stalled tick job is retried forever by BullMQ). */
export const TICK_QUEUE = 'rotor-tick';
export const TICK_SCHEDULER_ID = 'rotor-tick-every';

/**
 * BullMQ-level attempts cover infrastructure failures only (the state database unreachable mid-pass);
 * step failures are counted and bounded by the engine itself.
 */
export const RUN_JOB_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: { count: 1000 },
  attempts: 20,
  backoff: { type: 'exponential', delay: 1000 },
} as const;
