// Private redis-server processes for tests: on a free loopback port, in a scratch dir, no persistence
// unless asked, ready only once they answer PING, and never outliving the process that started them.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { PID_FILES, scratchRoot } from './watchdog.js';

export interface RedisServerHandle {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Graceful shutdown (SIGTERM), then removes the data dir. Idempotent; the handle is done after it. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; the data dir stays, so `restart()` finds any AOF written so far. */
  kill(): Promise<void>;
  /** Stops the server if it runs (gracefully) and starts it again on the same port and dir. */
  restart(): Promise<void>;
  /** The server's process id while it runs (the benchmarks read its CPU time). */
  pid(): number | undefined;
}

export interface RedisServerOptions {
  /** Extra redis-server arguments; they come last, so they override the defaults (e.g. `--appendonly yes`). */
  args?: string[];
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;

/** Starts a private redis-server. Tests usually want `startRedisServer` from `redis.ts` instead. */
export async function spawnRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const dir = mkdtempSync(join(scratchRoot(), 'redis-'));
  const args = opts.args ?? [];
  let port = 0;
  let child: ChildProcess | undefined;
  // freePort() releases the port before redis binds it; if someone else took it meanwhile, try another.
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, dir, args);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortTakenError)) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  let current: ChildProcess | undefined = child;
  let stopped: Promise<void> | undefined;
  const end = async (signal: NodeJS.Signals) => {
    if (current) await terminate(current, signal);
    current = undefined;
    // A killed redis leaves its pid file behind; the pid must not be mistaken for it later.
    rmSync(join(dir, PID_FILES.redis), { force: true });
  };
  return {
    port,
    url: `redis://${HOST}:${port}`,
    kill: () => end('SIGKILL'),
    pid: () => current?.pid,
    async restart() {
      if (stopped) throw new Error(`redis-server on port ${port} was stopped; start a new one instead`);
      await end('SIGTERM');
      current = await launch(port, dir, args);
    },
    stop() {
      stopped ??= end('SIGTERM').finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** Redis could not bind its port: the caller should pick another. */
class PortTakenError extends Error {}

async function launch(port: number, dir: string, extraArgs: string[]): Promise<ChildProcess> {
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--dir',
    dir,
    '--pidfile',
    join(dir, PID_FILES.redis),
    // Tests do not test Redis's durability; a test that does passes `--appendonly yes`.
    '--save',
    '',
    '--appendonly',
    'no',
    // What BullMQ requires and what production runs (docker-compose.yml): queued jobs are never evicted.
    '--maxmemory-policy',
    'noeviction',
    ...extraArgs,
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A test that forgets stop() must not keep its worker alive; the watchdog removes the server then.
  child.unref();
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    if (stream instanceof Socket) stream.unref();
    stream?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  }
  let failure: Error | undefined;
  child.once('error', (err: NodeJS.ErrnoException) => {
    failure =
      err.code === 'ENOENT'
        ? new Error('redis-server is not installed; install it (`apt-get install redis-server`) or run `bash .ci/run`', { cause: err })
        : err;
  });
  child.once('exit', (code, signal) => {
    const why = `redis-server on port ${port} exited (${signal ?? code}) before it was ready:\n${output}`;
    failure ??= /address already in use/i.test(output) ? new PortTakenError(why) : new Error(why);
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersPing(port))) {
    if (failure) throw failure;
    if (Date.now() > deadline) {
      await terminate(child, 'SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

/** True once the server answers +PONG; a server still loading its AOF answers -LOADING instead. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // Hold the event loop open while we wait, although the child is otherwise unref'd.
  child.ref();
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
