// Private MariaDB servers for tests: Debian's mariadbd from a temp datadir (mariadb-install-db), on a
// free loopback port and a socket of its own, with an admin user made at start, and never outliving
// the process that started it (the watchdog finds its pid file). One per test file: start it in
// beforeAll, stop it in afterAll.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './ports.js';
import { PID_FILES, scratchRoot } from './watchdog.js';

export interface MariadbServerHandle {
  host: string;
  port: number;
  /** The admin user (ALL PRIVILEGES WITH GRANT OPTION, from 127.0.0.1 only). */
  user: string;
  password: string;
  /** `mysql://user:password@127.0.0.1:port/` */
  url: string;
  /** The general query log, when started with `generalLog`. */
  generalLog: string;
  /** The error log. */
  errorLog: string;
  /** Runs SQL as the admin on a fresh connection. */
  query<T = unknown>(sql: string, values?: unknown[]): Promise<T>;
  /** SIGKILL, as a crash would; the datadir stays for restart(). */
  kill(): Promise<void>;
  /** Stops the server if it runs (SIGTERM) and starts it again on the same port and datadir. */
  restart(): Promise<void>;
  /** SIGTERM, then removes the datadir. Idempotent. */
  stop(): Promise<void>;
}

export interface MariadbServerOptions {
  /** Turns the general query log on (every statement the server receives, in `generalLog`). */
  generalLog?: boolean;
  /** Every commit reaches the disk before it returns, for tests that crash the server (SIGKILL). */
  durable?: boolean;
}

const HOST = '127.0.0.1';
const ADMIN = 'rotor_root';
const READY_TIMEOUT_MS = 30_000;
export const MARIADBD = ['/usr/sbin/mariadbd', '/usr/bin/mariadbd'].find((p) => existsSync(p)) ?? 'mariadbd';

/** mariadbd refuses to run as root without --user; run as root, the server runs as `mysql` when it exists. */
function runAs(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'mysql'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) return { name: 'root', uid: 0, gid: 0 };
  return { name: 'mysql', uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startMariadbServer(opts: MariadbServerOptions = {}): Promise<MariadbServerHandle> {
  const dir = mkdtempSync(join(scratchRoot(), 'mariadb-'));
  chmodSync(dir, 0o711);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  const user = runAs();
  const password = randomBytes(18).toString('base64url');
  const files = {
    socket: join(dir, 'mariadbd.sock'),
    pid: join(dir, PID_FILES.mariadb),
    errorLog: join(dir, 'error.log'),
    generalLog: join(dir, 'general.log'),
  };
  // The admin's password reaches the server as a hash, made again at every start (init-file).
  const hash = `*${createHash('sha1').update(createHash('sha1').update(password).digest()).digest('hex').toUpperCase()}`;
  const initFile = join(dir, 'init.sql');
  writeFileSync(
    initFile,
    [
      `CREATE USER IF NOT EXISTS '${ADMIN}'@'${HOST}' IDENTIFIED BY PASSWORD '${hash}';`,
      `GRANT ALL PRIVILEGES ON *.* TO '${ADMIN}'@'${HOST}' WITH GRANT OPTION;`,
    ].join('\n'),
    { mode: 0o644 },
  );
  if (user && user.uid !== 0) chownSync(dataDir, user.uid, user.gid);
  try {
    install(dataDir, user?.name);
    if (user && user.uid !== 0) chownSync(dir, user.uid, user.gid); // for its pid file, socket and logs
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const args = (port: number) => [
    '--no-defaults',
    `--datadir=${dataDir}`,
    ...(user ? [`--user=${user.name}`] : []),
    `--port=${port}`,
    `--bind-address=${HOST}`,
    `--socket=${files.socket}`,
    `--pid-file=${files.pid}`,
    `--log-error=${files.errorLog}`,
    `--init-file=${initFile}`,
    '--skip-name-resolve',
    '--skip-log-bin',
    '--skip-symbolic-links',
    // Tests never survive a crash of their own server: nothing needs to reach the disk in time.
    `--innodb-flush-log-at-trx-commit=${opts.durable ? 1 : 0}`,
    '--innodb-buffer-pool-size=16M',
    '--innodb-log-file-size=8M',
    '--performance-schema=OFF',
    '--max-connections=300',
    ...(opts.generalLog ? ['--general-log=1', `--general-log-file=${files.generalLog}`] : []),
  ];
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(args(port), port, password, files.errorLog);
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
    rmSync(files.pid, { force: true });
  };
  const connection = () => mysql.createConnection({ host: HOST, port, user: ADMIN, password, multipleStatements: false });
  return {
    host: HOST,
    port,
    user: ADMIN,
    password,
    url: `mysql://${ADMIN}:${encodeURIComponent(password)}@${HOST}:${port}/`,
    generalLog: files.generalLog,
    errorLog: files.errorLog,
    async query<T>(sql: string, values?: unknown[]) {
      const c = await connection();
      try {
        const [rows] = await c.query(sql, values);
        return rows as T;
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    kill: () => end('SIGKILL'),
    async restart() {
      if (stopped) throw new Error(`mariadbd on port ${port} was stopped; start a new one instead`);
      await end('SIGTERM');
      current = await launch(args(port), port, password, files.errorLog);
    },
    stop() {
      stopped ??= end('SIGTERM').finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

function install(dataDir: string, user: string | undefined): void {
  const r = spawnSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      ...(user ? [`--user=${user}`] : []),
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      "mariadb-install-db is not installed; install Debian's mariadb-server (`apt-get install mariadb-server`) or run `bash .ci/run`",
    );
  }
  if (r.status !== 0) throw new Error(`mariadb-install-db failed (${r.status ?? r.signal}):\n${(r.stdout + r.stderr).slice(-4000)}`);
}

class PortTakenError extends Error {}

async function launch(args: string[], port: number, password: string, errorLog: string): Promise<ChildProcess> {
  const child = spawn(MARIADBD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A test that forgets stop() must not keep its worker alive; the watchdog removes the server then.
  child.unref();
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    if (stream instanceof Socket) stream.unref();
    stream?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  }
  const log = () => `${output}${existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-4000) : ''}`;
  let failure: Error | undefined;
  child.once('error', (err: NodeJS.ErrnoException) => {
    failure = err.code === 'ENOENT' ? new Error('mariadbd is not installed; run `bash .ci/run`', { cause: err }) : err;
  });
  child.once('exit', (code, signal) => {
    const text = log();
    const why = `mariadbd on port ${port} exited (${signal ?? code}) before it was ready:\n${text}`;
    failure ??= /Address already in use|Do you already have another/i.test(text) ? new PortTakenError(why) : new Error(why);
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (failure) throw failure;
    try {
      const c = await mysql.createConnection({ host: HOST, port, user: ADMIN, password, connectTimeout: 1_000 });
      await c.end();
      return child;
    } catch {
      if (failure) throw failure;
      if (Date.now() > deadline) {
        await terminate(child, 'SIGKILL');
        throw new Error(`mariadbd on port ${port} did not accept the admin within ${READY_TIMEOUT_MS} ms:\n${log()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
