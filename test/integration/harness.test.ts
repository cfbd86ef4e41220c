// The hermetic harness itself: private servers with real auth, isolated databases, Redis servers a
// test can crash, and no server outliving the process that started it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, privatePostgres, type TestDatabase } from '../helpers/postgres.js';
import { privateRedis, startRedisServer, uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

/** Resolves true if something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A client that fails at once instead of reconnecting, for servers a test brings down. */
function fragileClient(url: string): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  return client;
}

describe('the private PostgreSQL', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase('harness a'), createTestDatabase('harness b')]);
  });
  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()]);
  });

  it('is not the shared server, and authenticates with scram-sha-256 only', async () => {
    const server = privatePostgres();
    expect(server.port).not.toBe(5432);
    const rules = await a.pool.query<{ auth_method: string }>('select distinct auth_method from pg_hba_file_rules');
    expect(rules.rows.map((r) => r.auth_method)).toEqual(['scram-sha-256']);
    const stored = await a.pool.query<{ hash: string }>('select rolpassword as hash from pg_authid where rolname = current_user');
    expect(stored.rows[0]?.hash).toMatch(/^SCRAM-SHA-256\$/);
  });

  it('refuses a wrong password (28P01) and accepts the right one', async () => {
    const server = privatePostgres();
    const wrong = new pg.Client({
      host: server.host,
      port: server.port,
      user: server.user,
      password: 'not-the-password',
      database: 'postgres',
    });
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
    const right = new pg.Client({ connectionString: server.url() });
    await right.connect();
    const who = await right.query<{ u: string }>('select current_user as u');
    await right.end();
    expect(who.rows[0]?.u).toBe(server.user);
  });

  it('gives each caller its own database', async () => {
    expect(a.name).not.toBe(b.name);
    expect(a.url).toContain(`/${a.name}`);
    await a.pool.query('create table only_in_a (x int)');
    const inB = await b.pool.query<{ t: string | null }>("select to_regclass('only_in_a') as t");
    expect(inB.rows[0]?.t).toBeNull();
  });

  it('drops a database even while a session is still open on it', async () => {
    const db = await createTestDatabase('dropped');
    const leaked = new pg.Client({ connectionString: db.url });
    leaked.on('error', () => undefined);
    await leaked.connect();
    await db.drop();
    await db.drop(); // idempotent
    const left = await a.pool.query('select 1 from pg_database where datname = $1', [db.name]);
    expect(left.rowCount).toBe(0);
    await expect(leaked.query('select 1')).rejects.toThrow();
    await leaked.end().catch(() => undefined);
  });

  it('lets sessions that are closing go by themselves before it forces the drop', async () => {
    const db = await createTestDatabase('closing');
    // A session whose client is about to end, as a pool's are right after pool.end(): killing it
    // instead would hand its client an error (57P01) that most tests leave unhandled.
    const closing = new pg.Client({ connectionString: db.url });
    const errors: unknown[] = [];
    closing.on('error', (err) => errors.push(err));
    await closing.connect();
    const dropped = db.drop();
    // Well after an immediate drop would have killed the session, well within drop()'s patience.
    await new Promise((r) => setTimeout(r, 500));
    await closing.end();
    await dropped;
    expect(errors).toEqual([]);
    const left = await a.pool.query('select 1 from pg_database where datname = $1', [db.name]);
    expect(left.rowCount).toBe(0);
  });
});

describe('the private Redis', () => {
  it('answers PING, is not the shared server, and keeps queued jobs (noeviction, no persistence)', async () => {
    const { port, url } = privateRedis();
    expect(port).not.toBe(6379);
    const client = new Redis(url);
    try {
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
    } finally {
      client.disconnect();
    }
  });

  it('hands out prefixes that differ and hold no ":"', () => {
    const prefixes = new Set(Array.from({ length: 1000 }, () => uniquePrefix('My Queue:x')));
    expect(prefixes.size).toBe(1000);
    for (const p of prefixes) expect(p).toMatch(/^[a-z][a-z0-9_]*$/);
  });
});

describe("a Redis server of the test's own", () => {
  it('can be killed and restarted on the same port, keeping what its AOF holds', async () => {
    const own = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    try {
      expect(own.port).not.toBe(privateRedis().port);
      const before = fragileClient(own.url);
      await before.connect();
      await before.set('survivor', 'yes');
      await own.kill();
      await expect(before.ping()).rejects.toThrow();
      before.disconnect();
      expect(await listening(own.port)).toBe(false);

      await own.restart();
      const after = new Redis(own.url);
      expect(await after.get('survivor')).toBe('yes');
      after.disconnect();
    } finally {
      await own.stop();
    }
    expect(await listening(own.port)).toBe(false);
    await own.stop(); // idempotent
    await expect(own.restart()).rejects.toThrow(/was stopped/);
  });
});

describe('servers started by a process that gets SIGKILLed', () => {
  it('are stopped and their files removed by the watchdog', async () => {
    const probeScript = fileURLToPath(new URL('../helpers/orphan-probe.ts', import.meta.url));
    const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
    const probe = spawn(process.execPath, ['--import', 'tsx', probeScript], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        createInterface({ input: probe.stdout }).once('line', resolve);
        probe.once('exit', (code) => reject(new Error(`orphan-probe exited (${code}) before reporting`)));
      });
      const { root, postgresPort, redisPort } = JSON.parse(firstLine) as { root: string; postgresPort: number; redisPort: number };
      expect(await listening(postgresPort)).toBe(true);
      expect(await listening(redisPort)).toBe(true);
      expect(existsSync(root)).toBe(true);

      probe.kill('SIGKILL');
      await waitFor(async () => !(await listening(postgresPort)) && !(await listening(redisPort)) && !existsSync(root), {
        timeoutMs: 15_000,
        message: `the probe's servers (postgres :${postgresPort}, redis :${redisPort}) to stop and ${root} to go`,
      });
    } finally {
      probe.kill('SIGKILL');
    }
  });
});
