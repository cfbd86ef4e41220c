// Runs the executable for one operation: no shell, its own process group (a timeout or an abort
// kills its children too), a minimal environment, the request on stdin, stdout read whole up to a
// bound, stderr kept as a bounded tail and scrubbed before it can appear in an error.
import type { ChildProcess } from 'node:child_process';
import { UnavailableError } from '../../src/errors.js';
import { scrub } from '../../src/redact.js';
import { spawnError, startProcess } from '../../src/spawn.js';

/**
 * Passed from rotor's environment as is. Nothing else is: rotor's environment holds the credentials
 * its references point at, which the script sees only when the policy hands them on (`target.env`).
 */
const BASIC_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'SYSTEMROOT', 'NODE_OPTIONS'];

/** An answer is one small JSON object; more than this is a script printing something else. */
export const STDOUT_LIMIT = 1024 * 1024;
/** stderr kept: a tail large enough to scrub whole values, then shortened for the message. */
const STDERR_CAPTURE = 64 * 1024;
const STDERR_SHOWN = 2_000;
/** After the process exits, how long a grandchild holding stdout open may delay the result. */
const CLOSE_GRACE_MS = 500;

export interface ProcessSpec {
  executable: string;
  args: string[];
  env: Record<string, string>;
  timeoutMs: number;
  input: string;
  signal?: AbortSignal | undefined;
  /** Names the process in errors, e.g. `payments/api-key: verify`. */
  what: string;
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  /** Scrubbed, shortened: safe for an error message. */
  stderr: string;
}

export function baseEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of BASIC_ENV) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  return env;
}

export async function runProcess(spec: ProcessSpec): Promise<ProcessResult> {
  spec.signal?.throwIfAborted();
  let child: ChildProcess;
  try {
    child = await startProcess(spec.executable, spec.args, { stdio: ['pipe', 'pipe', 'pipe'], env: spec.env, detached: true });
  } catch (e) {
    throw spawnError(
      e,
      `${spec.what}: ${spec.executable}`,
      "check target.executable: a path relative to rotor's working directory, or a name on PATH, that rotor may execute",
    );
  }
  return collect(spec, child);
}

function collect(spec: ProcessSpec, child: ChildProcess): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let outBytes = 0;
    let err: Buffer[] = [];
    let errBytes = 0;
    let settled = false;
    let killedFor: string | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const kill = (why: string) => {
      killedFor ??= why;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => kill(`did not answer within ${spec.timeoutMs} ms and was killed`), spec.timeoutMs);
    const onAbort = () => kill('was killed because rotor is stopping');
    spec.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout!.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > STDOUT_LIMIT) kill(`wrote more than ${STDOUT_LIMIT} bytes to stdout and was killed`);
      else out.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      err.push(chunk);
      errBytes += chunk.length;
      if (errBytes > 2 * STDERR_CAPTURE) {
        const all = Buffer.concat(err);
        err = [all.subarray(all.length - STDERR_CAPTURE)];
        errBytes = STDERR_CAPTURE;
      }
    });
    // A script that exits without reading its stdin makes this write fail: its exit code decides.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(spec.input);

    // After a successful spawn an error is a failed kill or pipe: the exit still decides.
    child.once('error', (e: NodeJS.ErrnoException) => {
      finish(() => reject(new UnavailableError(`${spec.what}: ${spec.executable} failed: ${scrub(e.message)}`)));
    });
    const result = (code: number | null) => {
      killGroup(child.pid); // children left behind must not outlive the operation
      const stderr = tail(err);
      if (killedFor) {
        finish(() => reject(new UnavailableError(`${spec.what}: ${spec.executable} ${killedFor}${stderr ? `; stderr: ${stderr}` : ''}`)));
      } else {
        finish(() => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr }));
      }
    };
    child.once('close', (code) => result(code));
    child.once('exit', (code) => setTimeout(() => result(code), CLOSE_GRACE_MS).unref());
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The captured stderr as an error may show it: scrubbed first (whole values), then shortened. */
function tail(chunks: Buffer[]): string {
  const text = scrub(Buffer.concat(chunks).toString('utf8')).trim();
  return text.length > STDERR_SHOWN ? `…${text.slice(-STDERR_SHOWN)}` : text;
}
