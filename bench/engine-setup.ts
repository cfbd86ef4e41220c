// Shared set-up for the engine benchmarks: private servers (never the machine's shared ones),
// role pairs on the target, synthetic secrets, an in-process runtime.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createLogger } from '../src/log.js';
import type { ResolvedSecret } from '../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../src/queue/backend.js';
import { loadRotators } from '../src/rotator/catalogue.js';
import { startRuntime, type Runtime, type RuntimeOptions } from '../src/runtime.js';
import { createStatePool } from '../src/state/db.js';
import { migrate } from '../src/state/migrate.js';
import { syncSecrets } from '../src/state/secrets.js';
import { createLocalStore } from '../src/store/local/store.js';
import { startPrivatePostgres, type PrivatePostgres } from '../test/helpers/postgres-server.js';
import { spawnRedisServer, type RedisServerHandle } from '../test/helpers/redis-server.js';

export interface BenchEnv {
  server: PrivatePostgres;
  redis: RedisServerHandle;
  url(db: string): string;
  pool: pg.Pool;
  stop(): Promise<void>;
}

export async function benchEnv(): Promise<BenchEnv> {
  // BENCH_PROFILE=1: the server records every statement's calls and time (pg_stat_statements).
  const profile = process.env.BENCH_PROFILE === '1';
  // BENCH_PG_SETTINGS='{"autovacuum":"off"}': server settings for an experiment.
  const extra = JSON.parse(process.env.BENCH_PG_SETTINGS ?? '{}') as Record<string, string>;
  const settings = {
    ...extra,
    ...(profile
      ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all', 'pg_stat_statements.track_planning': 'on' }
      : {}),
  };
  const [server, redis] = await Promise.all([startPrivatePostgres({ settings }), spawnRedisServer()]);
  const f = server.facts;
  const url = (db: string) => `postgres://${encodeURIComponent(f.user)}:${encodeURIComponent(f.password)}@${f.host}:${f.port}/${db}`;
  const admin = new pg.Client({ connectionString: url('postgres') });
  await admin.connect();
  await admin.query('create database bench');
  await admin.end();
  const pool = createStatePool({ url: url('bench'), max: 30, applicationName: 'rotor-bench' });
  await migrate(pool);
  if (profile) await pool.query('create extension pg_stat_statements');
  return {
    server,
    redis,
    url,
    pool,
    async stop() {
      await pool.end();
      await Promise.allSettled([server.stop(), redis.stop()]);
    },
  };
}

/** Creates `count` alternating-user targets: group bN, users bN_a and bN_b. */
export async function createRolePairs(pool: pg.Pool, prefix: string, count: number): Promise<void> {
  const sql: string[] = [];
  for (let i = 0; i < count; i++) {
    sql.push(
      `create role ${prefix}${i} nologin; create role ${prefix}${i}_a login in role ${prefix}${i}; create role ${prefix}${i}_b login in role ${prefix}${i};`,
    );
  }
  for (let i = 0; i < sql.length; i += 200) await pool.query(sql.slice(i, i + 200).join('\n'));
}

export function alternatingSecret(env: BenchEnv, id: string, group: string, over: Partial<ResolvedSecret> = {}): ResolvedSecret {
  const f = env.server.facts;
  return {
    id,
    owner: 'bench',
    className: undefined,
    description: undefined,
    tags: [],
    schedule: { kind: 'interval', ms: 86_400_000, text: '1d' },
    graceMs: 0,
    emergencyGraceMs: 0,
    jitterMs: 0,
    window: undefined,
    retry: { attempts: 3, backoffMs: 50, maxBackoffMs: 200 },
    drain: { mode: 'wait', timeoutMs: 60_000 },
    rotator: {
      name: 'postgres',
      params: {
        strategy: 'alternating-users',
        target: {
          host: f.host,
          port: f.port,
          database: 'bench',
          users: [`${group}_a`, `${group}_b`],
          group,
          admin: 'env:BENCH_ADMIN_URL',
          sslmode: 'disable',
        },
        generate: { length: 32, exclude: ':/@"\'\\' },
      },
    },
    store: { backend: 'local', location: id, params: {} },
    consumers: [],
    source: { file: 'bench.yaml', line: 1, col: 1 },
    hash: `h-${id}`,
    ...over,
  };
}

export async function syncAll(env: BenchEnv, secrets: ResolvedSecret[], dueNow = false): Promise<void> {
  await syncSecrets(env.pool, secrets, {
    actor: 'bench',
    targetKeyOf: (s) => `${s.id}`,
    nextDueOf: () => new Date(Date.now() + (dueNow ? -1 : 86_400_000)),
  });
}

export async function benchRuntime(
  env: BenchEnv,
  kind: 'redis' | 'postgres',
  over: Partial<RuntimeOptions> = {},
): Promise<{ kit: QueueKit; runtime: Runtime }> {
  const log = createLogger({ level: 'silent' });
  const kit = await createQueueKit(kind === 'redis' ? { kind, url: env.redis.url, prefix: 'bench' } : { kind, url: env.url('bench') }, log);
  await loadRotators(['postgres']);
  process.env.BENCH_ADMIN_URL = env.url('bench');
  const runtime = await startRuntime({
    pool: env.pool,
    kit,
    log,
    stores: { local: createLocalStore({ pool: env.pool, key: randomBytes(32) }) },
    resolveRef: async (ref) => process.env[ref.slice(4)] ?? '',
    nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
    pollMs: 100,
    ...over,
  });
  return { kit, runtime };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function table(rows: Array<Record<string, string | number>>): string {
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(width[i]!)).join(' | ') + ' |';
  return [
    line(cols),
    '|' + width.map((w) => '-'.repeat(w + 2)).join('|') + '|',
    ...rows.map((r) => line(cols.map((c) => String(r[c])))),
  ].join('\n');
}
