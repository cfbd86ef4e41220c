// Incident benchmark (issue 18): an incident over 300 alternating-user secrets on 10 target
// databases of one private PostgreSQL (grace 0, a consumer that confirms at once, at most 2 runs
// per target), against a raw script that calls the same rotator (the same ALTERs) with the same
// per-target concurrency and no state database, store or queue. Also: the time from the incident's
// start to the first old credential revoked.
import pg from 'pg';
import { EMPTY_SELECTION, planIncident, startIncident } from '../src/engine/incident.js';
import { requestRotation } from '../src/engine/request.js';
import { createLogger } from '../src/log.js';
import type { ResolvedSecret } from '../src/policy/types.js';
import type { RotatorContext, SecretValue } from '../src/rotator/contract.js';
import { loadRotators, rotatorFor, targetKeyOf } from '../src/rotator/catalogue.js';
import { getIncident } from '../src/state/incidents.js';
import { listSecrets, syncSecrets } from '../src/state/secrets.js';
import { alternatingSecret, benchEnv, benchRuntime, createRolePairs, table, type BenchEnv } from './engine-setup.js';

const TARGETS = 10;
const SECRETS = Number(process.env.BENCH_INCIDENT_SECRETS ?? 300);
const PER_TARGET = 2;

function secretsFor(env: BenchEnv, prefix: string, tag: string): ResolvedSecret[] {
  return Array.from({ length: SECRETS }, (_, i) => {
    const s = alternatingSecret(env, `${prefix}/s${i}`, `${prefix}${i}`, { tags: [tag] });
    const params = s.rotator.params as { target: Record<string, unknown> };
    return { ...s, rotator: { ...s.rotator, params: { ...params, target: { ...params.target, database: `bench_t${i % TARGETS}` } } } };
  });
}

async function createTargets(env: BenchEnv): Promise<void> {
  const c = new pg.Client({ connectionString: env.url('postgres') });
  await c.connect();
  for (let t = 0; t < TARGETS; t++) await c.query(`create database bench_t${t}`);
  await c.end();
}

async function raw(env: BenchEnv): Promise<number> {
  await createRolePairs(env.pool, 'ir', SECRETS);
  await loadRotators(['postgres']);
  const rotator = rotatorFor('postgres');
  const log = createLogger({ level: 'silent' });
  const secrets = secretsFor(env, 'ir', 'raw');
  const current = new Map<string, SecretValue>();
  const rotate = async (s: ResolvedSecret) => {
    const ctx: RotatorContext<unknown> = {
      secretId: s.id,
      runId: 'raw',
      params: rotator.paramsSchema.parse(s.rotator.params),
      log,
      resolveRef: async () => env.url('bench'),
      signal: new AbortController().signal,
    };
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
  // PER_TARGET lanes on each target, every target at once: the incident's shape without its bookkeeping.
  const runAll = async () => {
    const byTarget = Array.from({ length: TARGETS }, (_, t) => secrets.filter((_s, i) => i % TARGETS === t));
    await Promise.all(
      byTarget.flatMap((list) =>
        Array.from({ length: PER_TARGET }, async () => {
          for (let s = list.shift(); s; s = list.shift()) await rotate(s);
        }),
      ),
    );
  };
  await runAll(); // bootstrap: each timed rotation also revokes
  const started = performance.now();
  await runAll();
  return performance.now() - started;
}

async function incident(env: BenchEnv, kind: 'redis' | 'postgres'): Promise<{ ms: number; firstRevokeMs: number; steps: string }> {
  const prefix = kind === 'redis' ? 'iq' : 'ip';
  await createRolePairs(env.pool, prefix, SECRETS);
  const secrets = secretsFor(env, prefix, prefix).map((s) => ({
    ...s,
    consumers: [{ name: 'app', type: 'confirming', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 60_000, params: {} }],
  }));
  await syncSecrets(env.pool, secrets, { actor: 'bench', targetKeyOf, nextDueOf: () => new Date(Date.now() + 86_400_000) });
  let firstRevoke: number | undefined;
  let timing = false;
  const { kit, runtime } = await benchRuntime(env, kind, {
    concurrency: TARGETS * PER_TARGET,
    emergencyConcurrency: TARGETS * PER_TARGET,
    consumers: {
      confirming: { type: 'confirming', carriesValue: false, notify: async () => undefined, confirm: async (_c, n) => n.versionId },
    },
    onStepDone: async (_runId, step) => {
      if (timing && step === 'revoke' && firstRevoke === undefined) firstRevoke = performance.now();
    },
  });
  const runs = await Promise.all(secrets.map((s) => requestRotation(env.pool, kit, { secretId: s.id, trigger: 'manual', actor: 'bench' })));
  for (;;) {
    const { rows } = await env.pool.query<{ n: number }>(
      "select count(*)::int as n from runs where id = any($1::uuid[]) and state = 'done'",
      [runs.map((r) => r.id)],
    );
    if (rows[0]!.n === runs.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const all = await listSecrets(env.pool);
  const selection = { ...EMPTY_SELECTION, tags: [prefix] };
  const plan = planIncident(all, selection, PER_TARGET, null);
  if (plan.secrets.length !== SECRETS) throw new Error(`the plan has ${plan.secrets.length} secrets, not ${SECRETS}`);
  timing = true;
  const started = performance.now();
  const inc = await startIncident(env.pool, kit, { actor: 'bench', reason: 'bench', selection, plan });
  for (;;) {
    const row = await getIncident(env.pool, inc.id);
    if (row?.state === 'done') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = performance.now() - started;
  const { rows } = await env.pool.query<{ n: number }>(
    "select count(*)::int as n from incident_secrets i join runs r on r.id = i.run_id where i.incident_id = $1 and r.state = 'done'",
    [inc.id],
  );
  if (rows[0]!.n !== SECRETS) throw new Error(`${rows[0]!.n} of ${SECRETS} secrets rotated`);
  // Where a run's time goes: queued (created → its first step) and each step, median over the incident's runs.
  const steps = await env.pool.query<{ step: string; ms: number }>(
    `with i as (select run_id from incident_secrets where incident_id = $1)
     select 'queued' as step, percentile_cont(0.5) within group (order by extract(epoch from s.first - r.created_at) * 1000)::float8 as ms
       from runs r join (select run_id, min(started_at) as first from steps group by run_id) s on s.run_id = r.id where r.id in (select run_id from i)
     union all
     select step, percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at) * 1000)::float8
       from steps where run_id in (select run_id from i) group by step`,
    [inc.id],
  );
  await runtime.close();
  await kit.close();
  return { ms, firstRevokeMs: (firstRevoke ?? NaN) - started, steps: steps.rows.map((r) => `${r.step} ${r.ms.toFixed(0)}`).join(', ') };
}

export async function runIncidentBench(): Promise<string> {
  const env = await benchEnv();
  try {
    await createTargets(env);
    const rawMs = await raw(env);
    const rows = [];
    const notes: string[] = [];
    for (const kind of ['postgres', 'redis'] as const) {
      const r = await incident(env, kind);
      rows.push({
        'queue backend': kind,
        secrets: SECRETS,
        targets: TARGETS,
        'per target': PER_TARGET,
        'raw s': (rawMs / 1000).toFixed(2),
        'incident s': (r.ms / 1000).toFixed(2),
        'ratio (target ≤ 1.3)': (r.ms / rawMs).toFixed(2),
        'start → first revoke ms (target ≤ 1000)': r.firstRevokeMs.toFixed(0),
      });
      notes.push(`${kind}: median ms per run: ${r.steps}`);
    }
    return [
      'Incident vs raw rotator script: 300 alternating-user secrets on 10 target databases, grace 0',
      table(rows),
      '',
      ...notes,
      '',
    ].join('\n');
  } finally {
    await env.stop();
  }
}
