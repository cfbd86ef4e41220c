// Messages between a policy pass and its worker thread.
import type { PolicyFiles, FileOutcome } from '../pipeline.js';

export type PassMode = 'validate' | 'plan';

/** workerData: everything but the class files, so the worker can load its modules meanwhile. */
export interface WorkerInit {
  pf: PolicyFiles;
  mode: PassMode;
  /** The plan's `now`, as epoch milliseconds. */
  now: number;
  /** Next unclaimed file index, shared: Int32Array over a SharedArrayBuffer, claimed with Atomics.add. */
  next: SharedArrayBuffer;
  batch: number;
}

/** Sent once the main thread has read the files and found the ones that may define classes. */
export interface WorkerStart {
  go: true;
  classFiles: number[];
}

export interface WorkerResult {
  outcomes: FileOutcome[];
  /** Plan entries of each processed file, as JSON of PackedEntry[] (one string crosses fastest). */
  entries: Array<{ index: number; json: string }>;
}
