// Invariant 4: a secret value never appears in Redis, in the state database outside the encrypted
// store, in job data or in logs. Runs real rotations (and a failing one whose rotator carelessly
// puts the password in its error) on both queue backends, then scans everything.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { createLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import type { Rotator, SecretValue } from '../../../src/rotator/contract.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { privateRedis, uniquePrefix } from '../../helpers/redis.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';

async function redisDump(url: string, prefix: string): Promise<string> {
  const r = new Redis(url);
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await r.type(key);
      parts.push(key);
      if (type === 'string') parts.push((await r.get(key)) ?? '');
      else if (type === 'hash') parts.push(JSON.stringify(await r.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await r.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await r.smembers(key)));
      else if (type === 'zset') parts.push(JSON.stringify(await r.zrange(key, 0, -1)));
      else if (type === 'stream') parts.push(JSON.stringify(await r.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  r.disconnect();
  return parts.join('\n');
}

async function databaseDump(pool: pg.Pool): Promise<string> {
  const tables = await pool.query<{ s: string; t: string }>(
    `select table_schema as s, table_name as t from information_schema.tables
     where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE' and table_name <> 'store_versions'`,
  );
  const parts: string[] = [];
  for (const { s, t } of tables.rows) {
    const rows = await pool.query(`select x::text as row from ${pg.escapeIdentifier(s)}.${pg.escapeIdentifier(t)} x`);
    parts.push(...rows.rows.map((r: { row: string }) => r.row));
  }
  return parts.join('\n');
}

describe.each(['postgres', 'redis'] as const)('no secret value leaks (%s queue backend)', (backend) => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  const logs: string[] = [];
  const generated: SecretValue[] = [];
  const prefix = uniquePrefix('leak');
  let carelessVerify = false;

  beforeAll(async () => {
    db = await createTestDatabase(`leak_${backend}`);
    await migrate(db.pool);
    await db.pool.query(
      `create role leak_app nologin; create role leak_a login in role leak_app; create role leak_b login in role leak_app; create role leak_single login;`,
    );
    kit = await createQueueKit(
      backend === 'redis' ? { kind: 'redis', url: privateRedis().url, prefix } : { kind: 'postgres', url: db.url },
      createLogger({ level: 'silent' }),
    );
    await loadRotators(['postgres']);
    const real = rotatorFor('postgres');
    const recording: Rotator<unknown> = {
      ...real,
      async generate(ctx, current) {
        const v = await real.generate(ctx, current);
        generated.push(v);
        return v;
      },
      async verify(ctx, value) {
        // A careless rotator: its error carries the password. Redaction must still keep it out.
        if (carelessVerify) throw new Error(`login failed for ${value.username} with password ${value.password}`);
        return real.verify(ctx, value);
      },
    };
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } }),
      stores: { local: createLocalStore({ pool: db.pool, key: randomBytes(32) }) },
      rotators: { postgres: recording },
      resolveRef: async () => db.url,
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      pollMs: 50,
      leaseMs: 5_000,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.pool
      .query('drop role if exists leak_a; drop role if exists leak_b; drop role if exists leak_app; drop role if exists leak_single')
      .catch(() => undefined);
    await db?.drop();
  });

  it('keeps every generated password out of Redis, state tables, job data and logs', async () => {
    const target = { host: db.host, port: db.port, database: db.name, admin: 'env:UNUSED', sslmode: 'disable' };
    const alternating = secretFixture('leak/alternating', {
      graceMs: 50,
      rotator: {
        name: 'postgres',
        params: { strategy: 'alternating-users', target: { ...target, users: ['leak_a', 'leak_b'], group: 'leak_app' } },
      },
    });
    const single = secretFixture('leak/single', {
      graceMs: 50,
      retry: { attempts: 2, backoffMs: 10, maxBackoffMs: 20 },
      rotator: { name: 'postgres', params: { strategy: 'single-user', target: { ...target, user: 'leak_single' } } },
    });
    await syncSecrets(db.pool, [alternating, single], {
      actor: 'test',
      targetKeyOf: (s) => s.id,
      nextDueOf: () => new Date(Date.now() + 86_400_000),
    });
    for (let i = 0; i < 2; i++) {
      for (const s of [alternating, single]) {
        const run = await requestRotation(db.pool, kit, {
          secretId: s.id,
          trigger: i ? 'emergency' : 'manual',
          actor: 'test',
          reason: 'leak scan',
        });
        expect((await waitForRunEnd(db.pool, run.id)).state).toBe('done');
      }
    }
    carelessVerify = true;
    const failing = await requestRotation(db.pool, kit, { secretId: single.id, trigger: 'manual', actor: 'test' });
    expect((await waitForRunEnd(db.pool, failing.id)).state).toBe('needs-attention');
    carelessVerify = false;

    const passwords = generated.map((v) => String(v.password));
    // Four successful runs and one failing run (a retried verify does not generate again).
    expect(passwords.length).toBe(5);
    const haystacks = {
      redis: backend === 'redis' ? await redisDump(privateRedis().url, prefix) : '',
      database: await databaseDump(db.pool),
      logs: logs.join(''),
    };
    // The scan would find them: the failing run's error is in the tables and logs, redacted.
    expect(haystacks.database).toContain('[redacted]');
    for (const [where, text] of Object.entries(haystacks)) {
      for (const p of passwords) expect(text.includes(p), `a password appears in ${where}`).toBe(false);
    }
  });
});
