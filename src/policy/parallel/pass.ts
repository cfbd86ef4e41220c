// One pass over the policies for `validate` or `plan`, using a second core for large policy
// trees: the main thread and one worker thread claim files from a shared counter (so a slow
// worker start or a busy core balances itself), the worker sends each batch back as it finishes
// it, and the main thread merges the results in file order. Small trees, and --resolve, stay in
// one thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { knownCronGaps } from '../cadence.js';
import { loadPolicies } from '../load.js';
import type { LoadedSecret } from '../loaded-secret.js';
import { EntryUnpacker, planEntry, type PackedEntry, type PlanEntry } from '../plan.js';
import {
  findDependencyProblems,
  findDuplicates,
  findPolicyFiles,
  prepareClasses,
  processFile,
  readText,
  scanFiles,
  type FileOutcome,
} from '../pipeline.js';
import { sortProblems, type Problem } from '../problems.js';
import type { ReferenceCheckOptions } from '../ref-check.js';
import type { PassMode, WorkerBatch, WorkerInit, WorkerMessage, WorkerStart } from './protocol.js';
import { policyWorker } from './worker-url.js';

export interface PassOptions {
  mode: PassMode;
  /** The plan's reference time. */
  now: Date;
  cwd?: string;
  resolveRefs?: ReferenceCheckOptions;
  /**
   * Below this much YAML (bytes) one thread does it all: starting a worker costs more than
   * it saves. @defaultValue 4,000,000
   */
  parallelAbove?: number;
  /** With fewer files no worker is started at all. @defaultValue 100 */
  parallelFiles?: number;
  /** False leaves every file to the worker: tests use it to be sure the worker's path runs. */
  mainClaims?: boolean;
}

export interface PassResult {
  problems: Problem[];
  files: string[];
  classCount: number;
  secretCount: number;
  /** Plan mode: one entry per valid secret, in file order. */
  entries: PlanEntry[];
}

const BATCH = 4;

export async function policyPass(dir: string, opts: PassOptions): Promise<PassResult> {
  const cwd = opts.cwd ?? process.cwd();
  const entryOf = (s: LoadedSecret) => planEntry(s, opts.now, null);
  if (opts.resolveRefs || availableParallelism() < 2) return inOneThread(dir, opts, cwd, entryOf);
  const pf = await findPolicyFiles(dir, cwd);
  // Start the worker before reading, so that it loads its modules meanwhile; it is stopped if the
  // files turn out to be few.
  const next = new SharedArrayBuffer(4);
  const pw = pf.files.length >= (opts.parallelFiles ?? 100) ? policyWorker() : undefined;
  const worker = pw && startWorker(pw.url, { pf, mode: opts.mode, now: opts.now.getTime(), next, batch: BATCH, compiled: pw.compiled });
  const scan = scanFiles(pf);
  if (!worker || scan.bytes <= (opts.parallelAbove ?? 4_000_000)) {
    await worker?.stop();
    return inOneThread(dir, opts, cwd, entryOf);
  }
  const prep = prepareClasses(pf, scan.classFiles);
  worker.go(
    scan.classFiles.map((c) => c.index),
    knownCronGaps(),
  );
  const counter = new Int32Array(next);
  const outcomes: FileOutcome[] = [];
  const entries = new Map<number, PlanEntry[]>();
  // The worker's batches are taken in whenever the main thread waits for events: between its own
  // batches, and at the end.
  const unpacker = new EntryUnpacker();
  worker.receive((batch) => {
    if (batch.profiles) unpacker.add(batch.profiles);
    for (const { outcome, json } of batch.files) {
      outcomes.push(outcome);
      if (json !== undefined)
        entries.set(
          outcome.index,
          (JSON.parse(json) as PackedEntry[]).map((p) => unpacker.unpack(p)),
        );
    }
  });
  while (opts.mainClaims !== false) {
    const from = Atomics.add(counter, 0, BATCH);
    if (from >= pf.files.length) break;
    for (let f = from; f < Math.min(from + BATCH, pf.files.length); f++) {
      const list: PlanEntry[] = [];
      const visit = (s: LoadedSecret) => {
        if (opts.mode === 'plan') list.push(entryOf(s));
      };
      outcomes.push(await processFile(pf, prep, f, readText(pf, f), visit));
      if (list.length) entries.set(f, list);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (outcomes.length < pf.files.length) {
    try {
      await worker.done;
    } catch {
      // The worker could not do its share (it crashed): do it all here instead.
      await worker.stop();
      return inOneThread(dir, opts, cwd, entryOf);
    }
  }
  // Done, or never got to claim a file (still starting): either way, not needed any more.
  await worker.stop();
  outcomes.sort((a, b) => a.index - b.index);
  const duplicates = findDuplicates(pf, outcomes, (f) => readText(pf, f));
  const dependencies = findDependencyProblems(pf, outcomes, (f) => readText(pf, f));
  const ordered = [...entries.keys()].sort((a, b) => a - b).flatMap((f) => entries.get(f) as PlanEntry[]);
  return {
    problems: sortProblems([...outcomes.flatMap((o) => o.problems), ...duplicates.problems, ...dependencies.problems]),
    files: pf.display,
    classCount: prep.classes.size,
    secretCount: outcomes.reduce((n, o) => n + o.valid, 0),
    entries: ordered,
  };
}

interface StartedWorker {
  go(classFiles: number[], cronGaps: Array<[string, number]>): void;
  /** Where each batch goes as it arrives. */
  receive(handler: (batch: WorkerBatch) => void): void;
  /** Settles after the last batch: rejected if the worker failed first. */
  done: Promise<void>;
  stop(): Promise<void>;
}

function startWorker(url: URL, init: WorkerInit): StartedWorker {
  const worker = new Worker(url, { workerData: init });
  let handler: (batch: WorkerBatch) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: WorkerMessage) => {
      if ('done' in m) resolve();
      else handler(m);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`policy worker exited with code ${code} before it was done`)));
  });
  // Handled where it is awaited; this keeps a failure while the main thread is busy from
  // counting as unhandled.
  done.catch(() => undefined);
  return {
    go: (classFiles, cronGaps) => worker.postMessage({ go: true, classFiles, cronGaps } satisfies WorkerStart),
    receive: (h) => {
      handler = h;
    },
    done,
    stop: async () => {
      await worker.terminate();
    },
  };
}

async function inOneThread(dir: string, opts: PassOptions, cwd: string, entryOf: (s: LoadedSecret) => PlanEntry): Promise<PassResult> {
  const entries: PlanEntry[] = [];
  const result = await loadPolicies(dir, {
    cwd,
    ...(opts.resolveRefs ? { resolveRefs: opts.resolveRefs } : {}),
    onSecret: opts.mode === 'plan' ? (s) => entries.push(entryOf(s)) : () => undefined,
  });
  return { problems: result.problems, files: result.files, classCount: result.classes.size, secretCount: result.secretCount, entries };
}
