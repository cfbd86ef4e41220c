// A worker thread of a policy pass: claims files from the shared counter, validates and resolves
// them with the same pipeline as the main thread, and sends back problems, ids and plan entries.
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import type { LoadedSecret } from '../loaded-secret.js';
import { planEntry, packEntry, type PackedEntry } from '../plan.js';
import { prepareClasses, processFile, readText } from '../pipeline.js';
import type { WorkerInit, WorkerResult, WorkerStart } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread of a policy pass');

// The main thread terminates this worker when it does not need it, so a start always means go.
const [start] = (await once(port, 'message')) as [WorkerStart];
const { pf } = init;
const next = new Int32Array(init.next);
const now = new Date(init.now);
const prep = prepareClasses(pf, start.classFiles.map((index) => ({ index, text: readText(pf, index) ?? '' })));
const result: WorkerResult = { outcomes: [], entries: [] };
for (;;) {
  const from = Atomics.add(next, 0, init.batch);
  if (from >= pf.files.length) break;
  for (let f = from; f < Math.min(from + init.batch, pf.files.length); f++) {
    const packed: PackedEntry[] = [];
    const visit = (s: LoadedSecret) => {
      if (init.mode === 'plan') packed.push(packEntry(planEntry(s, now, null)));
    };
    result.outcomes.push(await processFile(pf, prep, f, readText(pf, f), visit));
    if (packed.length) result.entries.push({ index: f, json: JSON.stringify(packed) });
  }
}
port.postMessage(result);
port.close();
