// What the engine needs from the outside world, injected so tests can swap any part.
import type pg from 'pg';
import type { Consumer } from '../consumers/contract.js';
import type { Logger } from '../log.js';
import type { ResolvedSecret } from '../policy/types.js';
import type { Rotator } from '../rotator/contract.js';
import type { SecretStore } from '../store/contract.js';

export interface EngineDeps {
  pool: pg.Pool;
  log: Logger;
  /** Identifies this worker in leases and audit rows (`worker:<host>:<pid>`). */
  workerId: string;
  rotator(name: string): Rotator<unknown>;
  store(backend: string): SecretStore;
  consumer(type: string): Consumer<unknown>;
  /** Resolves `env:`/`file:`/`aws-sm:` references relative to the secret's policy file. */
  resolveRef(ref: string, secret: ResolvedSecret): Promise<string>;
  /** When a secret is next due after a success at `lastSuccessAt`. */
  nextDue(secret: ResolvedSecret, lastSuccessAt: Date): Date;
  now(): Date;
  /** How long a run's lease lasts; renewed at a third of it while a step runs. @defaultValue 60s */
  leaseMs: number;
  /** How often a waiting step (consumer confirmation, drain) looks again. @defaultValue 2s */
  pollMs: number;
  /** Called after a step's success is recorded, before the next step starts (metrics, tracing, tests). */
  onStepDone?(runId: string, step: string): Promise<void>;
}

/** Moves the current job to the delayed set until `at` and ends this processing pass. */
export type DelayFn = (at: Date) => Promise<never>;
