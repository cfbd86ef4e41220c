// A worker thread of a policy pass: claims files from the shared counter, validates and resolves
// them with the same pipeline as the main thread, and sends back each batch's problems, ids and
// plan entries as soon as it is done.
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { addCronGaps } from '../cadence.js';
import type { LoadedSecret } from '../loaded-secret.js';
import { EntryPacker, planEntry, type PackedEntry } from '../plan.js';
import { parseFile, prepareClasses, processFile, readText } from '../pipeline.js';
import { isPluginSpec } from '../../rotator/plugins.js';
import { readyForTypeScript } from '../../typescript-plugins.js';
import type { PolicyText } from '../read-text.js';
import type { WorkerBatch, WorkerDone, WorkerInit, WorkerStart } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread of a policy pass');

// The main thread terminates this worker when it does not need it, so a start always means go.
const [start] = (await once(port, 'message')) as [WorkerStart];
const { pf } = init;
const next = new Int32Array(init.next);
const now = new Date(init.now);
addCronGaps(start.cronGaps);
const prep = prepareClasses(
  pf,
  start.classFiles.map((index) => ({ index, text: readText(pf, index) ?? '' })),
);

// Started from compiled JavaScript (worker-url.ts), this thread has no tsx; a rotator plug-in may
// be TypeScript. Before the first file that names one, tsx is registered, as the main thread does
// before it imports one (typescript-plugins.ts). Parsed here, the file is not parsed again by processFile.
let typescript = !init.compiled;
async function readyForPlugins(index: number, text: PolicyText): Promise<void> {
  if (typescript || text === undefined) return;
  // A class file was parsed already, and its class problems sit in that parse.
  let parsed = prep.early.get(index);
  if (!parsed) {
    parsed = parseFile(pf, index, text);
    prep.early.set(index, parsed);
  }
  const namesPlugin = parsed.top.secrets.some((raw) => {
    const name = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>).rotator : undefined;
    return typeof name === 'string' && isPluginSpec(name);
  });
  if (!namesPlugin) return;
  await readyForTypeScript();
  typescript = true;
}

const packer = new EntryPacker();
for (;;) {
  const from = Atomics.add(next, 0, init.batch);
  if (from >= pf.files.length) break;
  const batch: WorkerBatch = { files: [] };
  for (let f = from; f < Math.min(from + init.batch, pf.files.length); f++) {
    const packed: PackedEntry[] = [];
    const visit = (s: LoadedSecret) => {
      if (init.mode === 'plan') packed.push(packer.pack(planEntry(s, now, null)));
    };
    const text = readText(pf, f);
    await readyForPlugins(f, text);
    const outcome = await processFile(pf, prep, f, text, visit);
    batch.files.push(packed.length ? { outcome, json: JSON.stringify(packed) } : { outcome });
  }
  const profiles = packer.fresh();
  if (profiles.length) batch.profiles = profiles;
  port.postMessage(batch);
}
port.postMessage({ done: true } satisfies WorkerDone);
port.close();
