// The rotor processes of a chaos run: spawning workers and the scheduler (stderr and stdout to a log
// file each), SIGKILL and replacement, and a record of every exit the harness did not cause.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { ValueSet } from './leaks.js';

const ENTRY = new URL('./process.ts', import.meta.url).pathname;

export interface RotorProcess {
  name: string;
  role: 'worker' | 'scheduler';
  child: ChildProcess;
  log: string;
  /** Set when the harness kills or stops it on purpose. */
  expectedExit: boolean;
}

export interface UnexpectedExit {
  name: string;
  role: 'worker' | 'scheduler';
  at: string;
  code: number | null;
  signal: string | null;
}

export interface ProcessSet {
  readonly live: RotorProcess[];
  readonly logs: string[];
  readonly unexpected: UnexpectedExit[];
  start(role: 'worker' | 'scheduler'): Promise<RotorProcess>;
  /** SIGKILL, as a crash or an OOM kill would; resolves once it is gone. */
  kill(p: RotorProcess): Promise<void>;
  /** SIGTERM to all, graceful; SIGKILL after `timeoutMs`. */
  stopAll(timeoutMs?: number): Promise<void>;
}

export function processSet(opts: { env: Record<string, string>; logDir: string; values: ValueSet }): ProcessSet {
  const live: RotorProcess[] = [];
  const logs: string[] = [];
  const unexpected: UnexpectedExit[] = [];
  let counter = 0;
  let stopping = false;

  async function start(role: 'worker' | 'scheduler'): Promise<RotorProcess> {
    if (stopping) throw new Error(`not starting a ${role}: the run is stopping`);
    const name = `${role}-${++counter}`;
    const log = join(opts.logDir, `${name}.log`);
    const fd = openSync(log, 'a', 0o600);
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      env: { ...process.env, ...opts.env, CHAOS_ROLE: role, CHAOS_NAME: name },
      stdio: ['ignore', fd, fd, 'ipc'],
    });
    closeSync(fd);
    logs.push(log);
    const p: RotorProcess = { name, role, child, log, expectedExit: false };
    live.push(p);
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: { kind?: string; value?: unknown }) => {
        if (m.kind === 'generated') opts.values.add(m.value);
        else if (m.kind === 'ready') resolve();
      });
      child.once('exit', (code, signal) => {
        live.splice(live.indexOf(p), 1);
        if (!p.expectedExit && !stopping) unexpected.push({ name, role, at: new Date().toISOString(), code, signal });
        reject(new Error(`${name} exited (${signal ?? code}) before it was ready; see ${log}`));
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} did not get ready within 60 s; see ${log}`)), 60_000);
    });
    try {
      await Promise.race([ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return p;
  }

  async function kill(p: RotorProcess): Promise<void> {
    p.expectedExit = true;
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    const gone = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGKILL');
    await gone;
  }

  return {
    live,
    logs,
    unexpected,
    start,
    kill,
    async stopAll(timeoutMs = 20_000) {
      stopping = true;
      await Promise.all(
        [...live].map(async (p) => {
          p.expectedExit = true;
          if (p.child.exitCode !== null || p.child.signalCode !== null) return;
          const gone = new Promise((r) => p.child.once('exit', r));
          p.child.kill('SIGTERM');
          const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
          await gone;
          clearTimeout(timer);
        }),
      );
    },
  };
}
