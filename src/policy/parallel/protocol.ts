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
  /** Started from compiled JavaScript (no tsx), not from worker-shim.mjs (worker-url.ts). */
  compiled: boolean;
}

/** Sent once the main thread has read the files and prepared the classes. */
export interface WorkerStart {
  go: true;
  classFiles: number[];
  /** Shortest cron gaps the main thread worked out for the classes (knownCronGaps). */
  cronGaps: Array<[string, number]>;
}

/**
 * One message per batch of files the worker claimed, sent as soon as it is done, so the main
 * thread takes them in while it works on its own files rather than all at the end.
 */
export interface WorkerBatch {
  files: Array<{
    outcome: FileOutcome;
    /** Plan mode: the file's plan entries, as JSON of PackedEntry[] (one string crosses fastest). */
    json?: string;
  }>;
  /** Plan mode: profiles first used in this batch (EntryPacker.fresh), to add before its entries. */
  profiles?: string[];
}

/** Sent after the last batch: no file is left to claim. */
export interface WorkerDone {
  done: true;
}

export type WorkerMessage = WorkerBatch | WorkerDone;
