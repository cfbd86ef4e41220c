// The command consumer: runs a configured program (no shell) with the new version's ids in its
// environment and, only when `passValue` is set, the value as JSON on stdin. Exit 0 decides.
import { PermanentError, RotorError } from '../../errors.js';
import { scrub, trackSecret } from '../../redact.js';
import { spawnError, startProcess } from '../../spawn.js';
import type { SecretValue } from '../../rotator/contract.js';
import { implementConsumer, type ConsumerContext, type ConsumerNotice } from '../contract.js';
import descriptor, { type CommandParams } from './descriptor.js';
import { durationMs } from '../common.js';
import { ROTOR_OWN_VARIABLE } from '../../trust-roots.js';
import { Recent } from '../recent.js';

export type { CommandParams } from './descriptor.js';

/**
 * Passed from rotor's environment as is. Nothing else is: rotor's environment holds the credentials
 * its references point at (`env:PAYMENTS_DB_ADMIN_URL`), which a reload script has no business seeing.
 */
const BASIC_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'SYSTEMROOT'];

/** stderr kept for the error message: a tail large enough to scrub whole values, then shortened. */
const STDERR_CAPTURE = 64 * 1024;
const STDERR_SHOWN = 2_000;
/** After SIGTERM to the process group, this long before SIGKILL. */
const KILL_GRACE_MS = 1_000;
/** After the process exits, how long a grandchild holding stderr open may delay the result. */
const CLOSE_GRACE_MS = 500;

/**
 * Versions the command succeeded for, keyed by run, command line and version. In memory: after a
 * worker restart between notify and confirm, confirm runs the command again when it can (an exit 0
 * is the only proof this consumer has), see `confirm`.
 */
const succeeded = new Recent(10_000);

function keyOf(params: CommandParams, notice: ConsumerNotice): string {
  return `${notice.runId}\0${JSON.stringify([params.run, ...(params.args ?? [])])}\0${notice.versionId}`;
}

function environment(params: CommandParams, notice: ConsumerNotice): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of [...BASIC_ENV, ...(params.inheritEnv ?? [])]) {
    // validate refuses ROTOR_* in inheritEnv; a secret resolved some other way is held to it too.
    if (process.env[name] !== undefined && !ROTOR_OWN_VARIABLE.test(name)) env[name] = process.env[name];
  }
  return {
    ...env,
    ROTOR_SECRET_ID: notice.secretId,
    ROTOR_RUN_ID: notice.runId,
    ROTOR_VERSION_ID: notice.versionId,
    ROTOR_STORE_BACKEND: notice.store.backend,
    ROTOR_STORE_LOCATION: notice.store.location,
    ROTOR_REVOKE_AFTER: notice.revokeAfter.toISOString(),
  };
}

/** The captured stderr as an error may show it: scrubbed first (whole values), then shortened. */
function stderrTail(chunks: Buffer[]): string {
  const text = scrub(Buffer.concat(chunks).toString('utf8')).trim();
  return text.length > STDERR_SHOWN ? `…${text.slice(-STDERR_SHOWN)}` : text;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    // detached: the child leads its own process group, so its children go with it.
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

async function runOnce(ctx: ConsumerContext<CommandParams>, notice: ConsumerNotice, value: SecretValue | undefined): Promise<void> {
  const { run, args = [] } = ctx.params;
  const timeoutMs = durationMs(ctx.params.timeout, 60_000);
  const label = `command ${run}`;
  if (value) trackSecret(value);
  const child = await startProcess(run, args, {
    env: environment(ctx.params, notice),
    stdio: [value ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    detached: true,
    shell: false,
  }).catch((e: unknown) => {
    throw spawnError(e, label, 'check that `run` names an executable file (a path, or a name on PATH); it is run without a shell');
  });
  const chunks: Buffer[] = [];
  let captured = 0;
  child.stderr!.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    captured += chunk.length;
    while (captured - (chunks[0]?.length ?? 0) >= STDERR_CAPTURE) captured -= chunks.shift()!.length;
  });
  if (value) {
    // A command that exits without reading stdin closes the pipe: that is its business, not an error.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(JSON.stringify(value) + '\n');
  }

  let why: 'timeout' | 'shutdown' | undefined;
  const stop = (reason: 'timeout' | 'shutdown') => {
    why ??= reason;
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = setTimeout(() => stop('timeout'), timeoutMs);
  const onAbort = () => stop('shutdown');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();

  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // A grandchild that left the group may hold stderr open: do not wait for it forever.
      setTimeout(() => {
        child.stderr!.destroy();
        resolve(exit!);
      }, CLOSE_GRACE_MS).unref();
    });
    child.once('close', () => exit && resolve(exit));
  }).finally(() => {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  });

  const stderr = stderrTail(chunks);
  const said = stderr ? `; stderr: ${stderr}` : '';
  if (why === 'timeout') {
    throw new RotorError(`${label} did not finish within ${timeoutMs}ms; its process group was killed${said}`, {
      hint: 'make the command faster, or raise its timeout',
    });
  }
  if (why === 'shutdown') throw new RotorError(`${label} was stopped: rotor is shutting down`);
  if (result.code !== 0) {
    const how = result.code === null ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    throw new RotorError(`${label} ${how} for version ${notice.versionId}${said}`, {
      hint: 'the command must exit 0 once the application uses the new version',
    });
  }
}

export const commandConsumer = implementConsumer<CommandParams>(descriptor, {
  async notify(ctx, notice, value) {
    if (ctx.params.passValue && !value) throw new PermanentError(`command ${ctx.params.run} has passValue set but was given no value`);
    // The engine hands the value to every consumer type that carries one; this one passes it on
    // only when the policy asked for it.
    await runOnce(ctx, notice, ctx.params.passValue ? value : undefined);
    succeeded.set(keyOf(ctx.params, notice), true);
  },
  async confirm(ctx, notice, value) {
    const key = keyOf(ctx.params, notice);
    if (succeeded.has(key)) return notice.versionId;
    // No record in this worker (it restarted after notify): the exit code is the only proof, so run
    // the command again, with the value when it takes one (the engine passes it to carrying types).
    if (ctx.params.passValue && !value) {
      throw new RotorError(`command ${ctx.params.run}: needs the value to run again for version ${notice.versionId}, and none was given`);
    }
    await runOnce(ctx, notice, ctx.params.passValue ? value : undefined);
    succeeded.set(key, true);
    return notice.versionId;
  },
});
