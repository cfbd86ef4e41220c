// A worker in a child process, as the SIGKILL suites run one: started with tsx, ready when it
// prints "ready", killed with SIGKILL (no chance to clean up) and awaited.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

export interface WorkerHandle {
  child: ChildProcess;
  /** Its stdout so far: kill-point markers and "ready". */
  output: string;
}

export async function spawnWorker(script: string, env: Record<string, string>, timeoutMs = 20_000): Promise<WorkerHandle> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const handle: WorkerHandle = { child, output: '' };
  child.stdout!.on('data', (d: Buffer) => (handle.output += d.toString()));
  await waitFor(() => handle.output.includes('ready') || child.exitCode !== null, { timeoutMs, message: 'worker start' });
  if (child.exitCode !== null) throw new Error(`worker exited early with ${child.exitCode}`);
  return handle;
}

export async function killWorker(w: WorkerHandle): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGKILL');
  await exited;
}
