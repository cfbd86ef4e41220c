// Engine benchmarks (issue: rotation engine):
//  1. orchestrated ÷ raw time for 500 alternating-user rotations at concurrency 8, on both queue
//     backends; "raw" calls the same rotator (the same SQL) with the same concurrency, without the
//     state database, the store or the queue;
//  2. emergency latency, request → old credential revoked (grace 0), with 1,000 routine runs queued;
//  3. for 100,000 secrets: sync time, scheduler tick time, Redis keys held per idle secret.
import { Redis } from 'ioredis';
import { requestRotation } from '../src/engine/request.js';
import type { ResolvedSecret } from '../src/policy/types.js';
import { runTick } from '../src/engine/scheduler.js';
import type { RotatorContext, SecretValue } from '../src/rotator/contract.js';
import { loadRotators, rotatorFor } from '../src/rotator/catalogue.js';
import { createLogger } from '../src/log.js';
import { alternatingSecret, benchEnv, benchRuntime, createRolePairs, percentile, syncAll, table, type BenchEnv } from './engine-setup.js';

const TARGETS = 100;
const ROUNDS = 5; // 100 targets × 5 = 500 rotations
const CONCURRENCY = 8;

async function orchestrated(env: BenchEnv, kind: 'redis' | 'postgres', prefix: string): Promise<number> {
  const secrets = Array.from({ length: TARGETS }, (_, i) => alternatingSecret(env, `${prefix}/s${i}`, `${prefix}${i}`));
  await createRolePairs(env.pool, prefix, TARGETS);
  await syncAll(env, secrets);
  const remaining = new Map<string, number>();
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => (resolveAll = r));
  let pending = 0;
  const { kit, runtime } = await benchRuntime(env, kind, {
    concurrency: CONCURRENCY,
    onStepDone: async (runId, step) => {
      if (step !== 'finish') return;
      const { rows } = await env.pool.query<{ secret_id: string }>('select secret_id from runs where id = $1', [runId]);
      const id = rows[0]!.secret_id;
      const left = (remaining.get(id) ?? 0) - 1;
      remaining.set(id, left);
      if (left > 0) void requestRotation(env.pool, kit, { secretId: id, trigger: 'manual', actor: 'bench' });
      else if (--pending === 0) resolveAll();
    },
  });
  // Bootstrap (untimed): every secret gets a first credential, so each timed rotation also revokes.
  for (const s of secrets) remaining.set(s.id, 1);
  pending = secrets.length;
  await Promise.all(secrets.map((s) => requestRotation(env.pool, kit, { secretId: s.id, trigger: 'manual', actor: 'bench' })));
  await allDone;
  const timed = new Promise<void>((r) => (resolveAll = r));
  for (const s of secrets) remaining.set(s.id, ROUNDS);
  pending = secrets.length;
  const started = performance.now();
  await Promise.all(secrets.map((s) => requestRotation(env.pool, kit, { secretId: s.id, trigger: 'manual', actor: 'bench' })));
  await timed;
  const ms = performance.now() - started;
  await runtime.close();
  await kit.close();
  return ms;
}

async function raw(env: BenchEnv, prefix: string): Promise<number> {
  await createRolePairs(env.pool, prefix, TARGETS);
  await loadRotators(['postgres']);
  const rotator = rotatorFor('postgres');
  const log = createLogger({ level: 'silent' });
  const ctxFor = (s: ResolvedSecret): RotatorContext<unknown> => ({
    secretId: s.id,
    runId: 'raw',
    params: rotator.paramsSchema.parse(s.rotator.params),
    log,
    resolveRef: async () => env.url('bench'),
    signal: new AbortController().signal,
  });
  const secrets = Array.from({ length: TARGETS }, (_, i) => alternatingSecret(env, `${prefix}/s${i}`, `${prefix}${i}`));
  const current = new Map<string, SecretValue>();
  const rotate = async (s: ResolvedSecret) => {
    const ctx = ctxFor(s);
    const old = current.get(s.id) ?? null;
    await rotator.preflight?.(ctx, old);
    const next = await rotator.generate(ctx, old);
    await rotator.apply(ctx, next, old);
    await rotator.verify(ctx, next);
    if (old) {
      await rotator.inUse?.(ctx, old);
      await rotator.revoke(ctx, old, next);
    }
    current.set(s.id, next);
  };
  const runAll = async (work: ResolvedSecret[][]) => {
    // Same shape as the orchestrated run: each secret's rotations in sequence, 8 at a time.
    const queue = [...work];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let chain = queue.shift(); chain; chain = queue.shift()) for (const s of chain) await rotate(s);
      }),
    );
  };
  await runAll(secrets.map((s) => [s]));
  const started = performance.now();
  await runAll(secrets.map((s) => Array.from({ length: ROUNDS }, () => s)));
  return performance.now() - started;
}

async function emergencyLatency(env: BenchEnv): Promise<{ p50: number; p95: number; samples: number; backlogMin: number }> {
  const ROUTINE = Number(process.env.BENCH_ROUTINE ?? 1000);
  const EMERGENCIES = 40;
  await createRolePairs(env.pool, 'rt', ROUTINE);
  await createRolePairs(env.pool, 'em', EMERGENCIES);
  const routine = Array.from({ length: ROUTINE }, (_, i) => alternatingSecret(env, `rt/s${i}`, `rt${i}`));
  const urgent = Array.from({ length: EMERGENCIES }, (_, i) => alternatingSecret(env, `em/s${i}`, `em${i}`));
  await syncAll(env, [...routine, ...urgent]);
  const revoked = new Map<string, () => void>();
  const { kit, runtime } = await benchRuntime(env, 'postgres', {
    concurrency: CONCURRENCY,
    onStepDone: async (runId, step) => {
      if (step === 'revoke') revoked.get(runId)?.();
    },
  });
  const done = async (runId: string) => {
    for (;;) {
      const { rows } = await env.pool.query<{ state: string }>('select state from runs where id = $1', [runId]);
      if (rows[0]?.state === 'done') return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  // Bootstrap the emergency secrets so their emergency runs have an old credential to revoke.
  await Promise.all(
    urgent.map(async (s) => done((await requestRotation(env.pool, kit, { secretId: s.id, trigger: 'manual', actor: 'bench' })).id)),
  );
  for (const s of routine) await requestRotation(env.pool, kit, { secretId: s.id, trigger: 'manual', actor: 'bench' });
  const latencies: number[] = [];
  let backlogMin = Infinity;
  for (const s of urgent) {
    const { rows } = await env.pool.query<{ n: number }>(
      "select count(*)::int as n from runs where state in ('queued','running','waiting') and secret_id like 'rt/%'",
    );
    backlogMin = Math.min(backlogMin, rows[0]!.n);
    const started = performance.now();
    let resolveRevoked!: () => void;
    const whenRevoked = new Promise<void>((r) => (resolveRevoked = r));
    const run = await requestRotation(env.pool, kit, { secretId: s.id, trigger: 'emergency', actor: 'bench', reason: 'bench' });
    revoked.set(run.id, resolveRevoked);
    await whenRevoked;
    latencies.push(performance.now() - started);
  }
  await runtime.close();
  await kit.close();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p95: percentile(latencies, 95), samples: latencies.length, backlogMin };
}

async function scale(
  env: BenchEnv,
): Promise<{ syncMs: number; tickMs: number; keysAdded: number; keysPerSecret: number; keysTotal: number }> {
  const N = 100_000;
  const secrets = Array.from({ length: N }, (_, i) => alternatingSecret(env, `scale/s${i}`, `sc${i % 500}`));
  const redis = new Redis(env.redis.url);
  const { kit, runtime } = await benchRuntime(env, 'redis', { scheduler: { everyMs: 3_600_000 } });
  const log = createLogger({ level: 'silent' });
  // Baseline after a tick with no secrets: the queues' own keys (meta, scheduler, events) are
  // constant; what the 100,000 secrets add on top is what they hold.
  await runTick(env.pool, kit, log, new Date());
  const before = await redis.dbsize();
  let started = performance.now();
  await syncAll(env, secrets);
  const syncMs = performance.now() - started;
  const ticks: number[] = [];
  for (let i = 0; i < 15; i++) {
    started = performance.now();
    await runTick(env.pool, kit, log, new Date());
    ticks.push(performance.now() - started);
  }
  ticks.sort((a, b) => a - b);
  const after = await redis.dbsize();
  redis.disconnect();
  await runtime.close();
  await kit.close();
  return {
    syncMs,
    tickMs: percentile(ticks, 50),
    keysAdded: after - before,
    keysPerSecret: Math.max(0, after - before) / N,
    keysTotal: after,
  };
}

export async function runEngineBench(parts: string[] = ['throughput', 'emergency', 'scale']): Promise<string> {
  const env = await benchEnv();
  const out: string[] = [];
  try {
    if (parts.includes('throughput')) await throughput(env, out);
    if (parts.includes('emergency')) {
      const em = await emergencyLatency(env);
      out.push(
        'Emergency latency, request → old credential revoked (grace 0), 1,000 routine runs queued',
        table([
          {
            samples: em.samples,
            'routine backlog (min)': em.backlogMin,
            'p50 ms (target ≤ 200)': em.p50.toFixed(0),
            'p95 ms': em.p95.toFixed(0),
          },
        ]),
        '',
      );
    }
    if (parts.includes('scale')) {
      const sc = await scale(env);
      out.push(
        '100,000 secrets',
        table([
          {
            'sync s (target ≤ 15)': (sc.syncMs / 1000).toFixed(2),
            'tick ms, median of 15 (target ≤ 50)': sc.tickMs.toFixed(1),
            'Redis keys added by the secrets': sc.keysAdded,
            'per idle secret (target 0)': sc.keysPerSecret.toFixed(4),
            'Redis keys in all': sc.keysTotal,
          },
        ]),
      );
    }
  } finally {
    await env.stop();
  }
  return out.join('\n');
}

async function throughput(env: BenchEnv, out: string[]): Promise<void> {
  const rawMs = await raw(env, 'rw');
  const rows = [];
  for (const kind of ['postgres', 'redis'] as const) {
    const ms = await orchestrated(env, kind, kind === 'redis' ? 'or' : 'op');
    rows.push({
      'queue backend': kind,
      rotations: TARGETS * ROUNDS,
      concurrency: CONCURRENCY,
      'raw s': (rawMs / 1000).toFixed(2),
      'orchestrated s': (ms / 1000).toFixed(2),
      'ratio (target ≤ 1.5)': (ms / rawMs).toFixed(2),
    });
  }
  out.push('Orchestrated vs raw: 500 alternating-user rotations', table(rows), '');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const parts = process.argv.slice(2);
  console.log(await runEngineBench(parts.length ? parts : undefined));
  process.exit(0);
}
