// Starting a child process so that no spawn failure can take rotor down: the one way rotators and
// consumers start programs. Node reports most spawn failures as an 'error' event on the next tick
// (and, for EMFILE/ENFILE, leaves child.stdout/stderr null), so a caller that touches the streams
// first throws a TypeError and leaves the 'error' event unhandled: the whole process exits.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { PermanentError, UnavailableError, type RotorError } from './errors.js';
import { scrub } from './redact.js';

/** Failures that say the machine is short of something (files, processes, memory): retry later. */
const RESOURCE_CODES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM', 'ENOSPC', 'EBUSY', 'ETXTBSY']);

export class SpawnFailure extends Error {
  override name = 'SpawnFailure';
  constructor(
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Spawns and waits for Node's 'spawn' event: resolves with a child whose stdio streams (as asked
 * for in `options.stdio`) exist, or rejects with a SpawnFailure, never an unhandled event. An
 * 'error' listener stays attached for the child's life, so a later error (a failed kill) cannot
 * crash the process either; callers add their own for the errors they care about.
 */
export function startProcess(command: string, args: readonly string[], options: SpawnOptions): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, options);
    } catch (e) {
      // Synchronous spawn errors (EINVAL, E2BIG, an fd limit hit while creating the pipes).
      const err = e as NodeJS.ErrnoException;
      reject(new SpawnFailure(err.code, scrub(err.message), { cause: err }));
      return;
    }
    const onError = (err: NodeJS.ErrnoException) => {
      child.off('spawn', onSpawn);
      // The pipes that were opened are of no use now: free their descriptors.
      for (const s of [child.stdin, child.stdout, child.stderr]) s?.destroy();
      reject(new SpawnFailure(err.code, scrub(err.message), { cause: err }));
    };
    const onSpawn = () => {
      child.off('error', onError);
      resolve(child);
    };
    child.on('error', () => undefined);
    child.once('error', onError);
    child.once('spawn', onSpawn);
  });
}

/**
 * The step error for a spawn failure. A missing or non-executable program is a setup mistake that
 * retrying cannot fix; anything else (out of files, processes, memory) passes, so it is retried.
 */
export function spawnError(failure: unknown, what: string, hint: string): RotorError {
  const code = failure instanceof SpawnFailure ? failure.code : (failure as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES') {
    return new PermanentError(`${what} cannot be started: ${code}`, { hint, cause: failure });
  }
  const detail = code ?? scrub(failure instanceof Error ? failure.message : String(failure));
  return new UnavailableError(`${what} cannot be started now: ${detail}`, {
    cause: failure,
    hint: RESOURCE_CODES.has(code ?? '')
      ? `the machine is short of ${code === 'EMFILE' || code === 'ENFILE' ? 'open files (check ulimit -n and what holds them)' : 'resources'}; the step is retried`
      : 'the step is retried',
  });
}
