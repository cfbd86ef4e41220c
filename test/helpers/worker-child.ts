// A worker in a child process, as the SIGKILL suites run one: started with tsx, ready when it
// prints "ready", killed with SIGKILL (no chance to clean up) and awaited. A spare is started with
// GATED=1: it loads everything, prints "loaded" and takes jobs only once told (a line on stdin), so
// a suite pays the start-up cost while the worker before it still runs.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

export interface WorkerHandle {
  child: ChildProcess;
  /** Its stdout so far: kill-point markers, "loaded" (a spare) and "ready". */
  output: string;
}

export interface SpareWorker {
  handle: WorkerHandle;
  /** Lets the spare take jobs; resolves once it prints "ready". */
  start(): Promise<WorkerHandle>;
}

/** How long a worker may take to load and start: tsx compiles the runtime, slow on a busy machine. */
const START_TIMEOUT_MS = 30_000;

function launch(script: string, env: Record<string, string>, gated: boolean): WorkerHandle {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env, ...(gated ? { GATED: '1' } : {}) },
    stdio: [gated ? 'pipe' : 'ignore', 'pipe', 'inherit'],
  });
  const handle: WorkerHandle = { child, output: '' };
  child.stdout!.on('data', (d: Buffer) => (handle.output += d.toString()));
  return handle;
}

async function printed(w: WorkerHandle, line: string, timeoutMs: number): Promise<void> {
  await waitFor(() => w.output.includes(line) || w.child.exitCode !== null, { timeoutMs, message: `worker ${line}` });
  if (w.child.exitCode !== null) throw new Error(`worker exited early with ${w.child.exitCode}`);
}

export async function spawnWorker(script: string, env: Record<string, string>, timeoutMs = START_TIMEOUT_MS): Promise<WorkerHandle> {
  const handle = launch(script, env, false);
  await printed(handle, 'ready', timeoutMs);
  return handle;
}

/** A worker that loads now and starts taking jobs when `start()` is called. The script must honour GATED. */
export function spareWorker(script: string, env: Record<string, string>, timeoutMs = START_TIMEOUT_MS): SpareWorker {
  const handle = launch(script, env, true);
  return {
    handle,
    async start() {
      await printed(handle, 'loaded', timeoutMs);
      handle.child.stdin!.write('go\n');
      await printed(handle, 'ready', timeoutMs);
      return handle;
    },
  };
}

export async function killWorker(w: WorkerHandle): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGKILL');
  await exited;
}
