// Incident benchmark (issue 18): an incident over 300 alternating-user secrets on 10 target
// databases of one private PostgreSQL (grace 0, a consumer that confirms at once, at most 2 runs
// per target), against a raw script that calls the same rotator (the same ALTERs) with the same
// per-target concurrency and no state database, store or queue. Also: the time from the incident's
// start to the first old credential revoked.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

const TARGETS = Number(process.env.BENCH_INCIDENT_TARGETS ?? 10);
const SECRETS = Number(process.env.BENCH_INCIDENT_SECRETS ?? 300);
const PER_TARGET = 2;
/** Rounds of a PostgreSQL-queue and a Redis-queue incident, each between two raw runs (its ratio is to their mean); the medians are reported. */
const ROUNDS = Number(process.env.BENCH_INCIDENT_ROUNDS ?? 3);

/** CPU seconds so far: this process, the private PostgreSQL (every server process), and Redis. */
interface CpuMeter {
  read(): Promise<Cpu>;
  /** Sessions opened and transactions committed so far: the target databases, and the state database. */
  sessions(): Promise<string>;
}

interface Cpu {
  node: number;
  /** Every PostgreSQL process: the postmaster, its live children and those that exited. */
  pg: number;
  /** Of `pg`: the sessions on the state database (rotor's pool and the PostgreSQL queue's), closed ones included. */
  pgState: number;
  /** Of `pg`: autovacuum workers (on any database). */
  pgVacuum: number;
  redis: number;
}

/** /proc/PID/stat's utime + stime (fields 14 and 15), with cutime + cstime (16 and 17) when `children`, in seconds. */
function procCpu(pid: number | string, children: boolean): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (children ? [11, 12, 13, 14] : [11, 12]).reduce((a, i) => a + Number(f[i]), 0) / 100;
  } catch {
    return 0; // it exited between the listing and the read: its time is in its parent's cutime now
  }
}

/** The ids of `parent`'s live child processes. */
function childrenOf(parent: string): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === parent;
      } catch {
        return false;
      }
    });
}

async function cpuMeter(env: BenchEnv): Promise<CpuMeter> {
  const { rows } = await env.pool.query<{ data_directory: string }>('show data_directory');
  const pid = readFileSync(join(rows[0]!.data_directory, 'postmaster.pid'), 'utf8').split('\n')[0]!;
  let last: Record<string, number> = {};
  // The CPU of every state-database session and every autovacuum worker, as last seen, sampled
  // twice a second: a process that exits keeps (nearly all) its time here.
  const seen = { state: new Map<number, number>(), vacuum: new Map<number, number>() };
  const sample = async () => {
    const { rows: procs } = await env.pool.query<{ pid: number; vacuum: boolean }>(
      "select pid, backend_type = 'autovacuum worker' as vacuum from pg_stat_activity where datname = 'bench' or backend_type = 'autovacuum worker'",
    );
    for (const r of procs) {
      const m = r.vacuum ? seen.vacuum : seen.state;
      m.set(r.pid, Math.max(m.get(r.pid) ?? 0, procCpu(r.pid, false)));
    }
  };
  const sampler = setInterval(() => void sample().catch(() => undefined), 500);
  sampler.unref();
  const sum = (m: Map<number, number>) => [...m.values()].reduce((a, c) => a + c, 0);
  return {
    async sessions() {
      const { rows: r } = await env.pool.query<{ k: string; n: number }>(
        `select (case when datname like 'bench_t%' then 'target' else datname end) || ' ' || m as k, sum(case m when 'sessions' then sessions else xact_commit end)::int as n
           from pg_stat_database, unnest(array['sessions', 'commits']) m where datname like 'bench%' group by 1 order by 1`,
      );
      const text = r.map((x) => `${x.k} ${((x.n - (last[x.k] ?? 0)) / SECRETS).toFixed(1)}`).join(', ');
      last = Object.fromEntries(r.map((x) => [x.k, x.n]));
      return text;
    },
    async read() {
      // PostgreSQL: the postmaster with its exited backends, and every backend still running, so a
      // backend that exits between two reads is counted once either way.
      const pg = procCpu(pid, true) + childrenOf(pid).reduce((a, c) => a + procCpu(c, false), 0);
      await sample();
      const redisPid = env.redis.pid();
      const u = process.cpuUsage();
      return {
        node: (u.user + u.system) / 1e6,
        pg,
        pgState: sum(seen.state),
        pgVacuum: sum(seen.vacuum),
        redis: redisPid ? procCpu(redisPid, false) : 0,
      };
    },
  };
}

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

interface Timed {
  ms: number;
  /** CPU seconds per rotation: this process (rotor or the raw script), PostgreSQL and Redis. */
  cpu: Cpu;
  /** Sessions and commits per rotation, on the targets and the state database. */
  sessions: string;
}

async function cpuPerRotation(meter: CpuMeter, before: Cpu): Promise<Cpu> {
  const after = await meter.read();
  const per = (k: keyof Cpu) => (after[k] - before[k]) / SECRETS;
  return { node: per('node'), pg: per('pg'), pgState: per('pgState'), pgVacuum: per('pgVacuum'), redis: per('redis') };
}

async function raw(env: BenchEnv, meter: CpuMeter, round: number): Promise<Timed> {
  const prefix = `ir${round}_`;
  await createRolePairs(env.pool, prefix, SECRETS);
  await loadRotators(['postgres']);
  const rotator = rotatorFor('postgres');
  const log = createLogger({ level: 'silent' });
  const secrets = secretsFor(env, prefix, 'raw');
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
  const cpu = await meter.read();
  await meter.sessions();
  const started = performance.now();
  phase(`raw ${round}`, 'start');
  await runAll();
  phase(`raw ${round}`, 'end');
  const ms = performance.now() - started;
  return { ms, cpu: await cpuPerRotation(meter, cpu), sessions: await meter.sessions() };
}

async function incident(
  env: BenchEnv,
  meter: CpuMeter,
  kind: 'redis' | 'postgres',
  round: number,
): Promise<Timed & { firstRevokeMs: number; steps: string; profile: string[] }> {
  const prefix = `${kind === 'redis' ? 'iq' : 'ip'}${round}_`;
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
  await profileReset(env);
  const cpuProfile = await startCpuProfile(`${kind}-${round}`);
  const cpu = await meter.read();
  await meter.sessions();
  const vacuums = await autovacuums(env);
  const updates = await hotUpdates(env);
  const started = performance.now();
  phase(`${kind} ${round}`, 'start');
  const inc = await startIncident(env.pool, kit, { actor: 'bench', reason: 'bench', selection, plan });
  // The wall time is the incident's own, as its row records it (both ends on the server's clock),
  // so the bench can look seldom: its own reads are not the incident's work (at every 50 ms they
  // were 2.4 statements per rotation on the state database the incident runs on).
  let ended: { startedAt: Date; endedAt: Date } | null = null;
  while (!ended) {
    await new Promise((r) => setTimeout(r, 500));
    const row = await getIncident(env.pool, inc.id);
    if (row?.state === 'aborted') throw new Error(`incident ${inc.id} was aborted`);
    if (row?.state === 'done') ended = { startedAt: row.startedAt, endedAt: row.endedAt! };
  }
  const ms = ended.endedAt.getTime() - ended.startedAt.getTime();
  phase(`${kind} ${round}`, 'end', performance.now() - started - ms);
  const cpuUsed = await cpuPerRotation(meter, cpu);
  const vacuumed = (await autovacuums(env)) - vacuums;
  const hot = (await hotUpdates(env)).map((u, i) => `${u.table} ${u.hot - updates[i]!.hot} of ${u.all - updates[i]!.all}`).join(', ');
  await cpuProfile();
  const profile = await profileRead(env);
  const sessions = await meter.sessions();
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
  // How full the per-target slots were: the runs' time from creation to their end, over the
  // incident's wall time times the slots (targets × per target). The raw script's lanes never idle.
  const busy = await env.pool.query<{ ms: number }>(
    `select sum(extract(epoch from r.finished_at - r.created_at) * 1000)::float8 as ms
       from incident_secrets i join runs r on r.id = i.run_id where i.incident_id = $1`,
    [inc.id],
  );
  const occupancy = busy.rows[0]!.ms / (ms * TARGETS * PER_TARGET);
  // Runs in flight over the incident, at each tenth of its wall time: where the slots stand empty.
  const timeline = await env.pool.query<{ n: number }>(
    `select (select count(*)::int from incident_secrets i join runs r on r.id = i.run_id
              where i.incident_id = $1 and r.created_at <= t and (r.finished_at is null or r.finished_at > t)) as n
       from generate_series(0, 9) k, lateral (select started_at + (k + 0.5) * (ended_at - started_at) / 10 as t from incidents where id = $1) x order by k`,
    [inc.id],
  );
  await runtime.close();
  await kit.close();
  return {
    ms,
    cpu: cpuUsed,
    sessions,
    firstRevokeMs: (firstRevoke ?? NaN) - started,
    steps: `${steps.rows.map((r) => `${r.step} ${r.ms.toFixed(0)}`).join(', ')}; slots busy ${(occupancy * 100).toFixed(0)}% (runs in flight by tenths of the wall time: ${timeline.rows.map((r) => r.n).join(' ')}); autovacuum and autoanalyze runs on the state db ${vacuumed}; HOT updates (reported so far): ${hot}`,
    profile,
  };
}

/** Autovacuum and autoanalyze runs so far on the state database's tables (rotor's and the PostgreSQL queue's). */
async function autovacuums(env: BenchEnv): Promise<number> {
  const { rows } = await env.pool.query<{ n: number }>(
    'select sum(autovacuum_count + autoanalyze_count)::int as n from pg_stat_all_tables',
  );
  return rows[0]!.n;
}

/** Updates so far, and how many were heap-only (no index entry), on the tables each run updates most. */
async function hotUpdates(env: BenchEnv): Promise<Array<{ table: string; all: number; hot: number }>> {
  const { rows } = await env.pool.query<{ table: string; all: number; hot: number }>(
    `select relname as table, n_tup_upd::int as all, n_tup_hot_upd::int as hot from pg_stat_user_tables
      where schemaname = 'public' and relname in ('runs', 'steps', 'run_consumers') order by relname`,
  );
  return rows;
}

/**
 * BENCH_PHASES=1: each timed phase's start and end on stderr, in CLOCK_MONOTONIC seconds, to cut a
 * system-wide profile taken beside the bench (`perf record -a -k CLOCK_MONOTONIC`) into phases.
 * `agoMs`: the edge was that long before now.
 */
function phase(name: string, edge: 'start' | 'end', agoMs = 0): void {
  if (process.env.BENCH_PHASES === '1')
    process.stderr.write(`phase ${name} ${edge} ${(Number(process.hrtime.bigint()) / 1e9 - agoMs / 1000).toFixed(3)}\n`);
}

const PROFILE = process.env.BENCH_PROFILE === '1';

/**
 * BENCH_CPUPROF=DIR: a V8 CPU profile of this process during each timed incident, written to
 * DIR/incident-<queue>-<round>.cpuprofile (open it in Chrome's DevTools). Returns the stop function.
 */
async function startCpuProfile(name: string): Promise<() => Promise<void>> {
  const dir = process.env.BENCH_CPUPROF;
  if (!dir) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `incident-${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

/** BENCH_PROFILE=1: the statement counts start from zero (pg_stat_statements, loaded by benchEnv). */
async function profileReset(env: BenchEnv): Promise<void> {
  if (PROFILE) await env.pool.query('select pg_stat_statements_reset()');
}

/** BENCH_PROFILE=1: the state database's statements since the reset, per rotation, most called first. */
async function profileRead(env: BenchEnv): Promise<string[]> {
  if (!PROFILE) return [];
  // Top-level statements only (a trigger's are inside its statement's time); time includes lock waits.
  const { rows } = await env.pool.query<{ calls: number; ms: number; plan: number; query: string }>(
    `select s.calls::float8 as calls, (s.total_exec_time + s.total_plan_time)::float8 as ms, s.total_plan_time::float8 as plan, regexp_replace(s.query, '\\s+', ' ', 'g') as query
       from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = 'bench' and s.toplevel order by s.calls desc`,
  );
  const total = rows.reduce((a, r) => ({ calls: a.calls + r.calls, ms: a.ms + r.ms }), { calls: 0, ms: 0 });
  const line = (r: { calls: number; ms: number }, text: string) =>
    `${(r.calls / SECRETS).toFixed(2).padStart(6)} calls ${((r.ms / SECRETS) * 1000).toFixed(0).padStart(6)} µs  ${text}`;
  return [
    line(total, 'all statements, per rotation (planning and execution)'),
    line({ calls: 0, ms: rows.reduce((a, r) => a + r.plan, 0) }, 'of which planning'),
    ...rows.slice(0, 60).map((r) => line(r, r.query.slice(0, 150))),
  ];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runIncidentBench(): Promise<string> {
  // BENCH_INCIDENT_QUEUES=postgres (or redis): one queue backend only (checked before any server starts).
  const asked = (process.env.BENCH_INCIDENT_QUEUES ?? 'postgres,redis').split(',');
  const kinds = (['postgres', 'redis'] as const).filter((k) => asked.includes(k));
  const unknown = asked.filter((k) => !(kinds as readonly string[]).includes(k));
  if (unknown.length || !kinds.length) {
    throw new Error(
      `BENCH_INCIDENT_QUEUES=${asked.join(',')}: give postgres, redis or both (comma-separated); ${unknown.join(', ') || 'none'} is not one`,
    );
  }
  const env = await benchEnv();
  try {
    await createTargets(env);
    const meter = await cpuMeter(env);
    const ms = (x: number) => (x * 1000).toFixed(0);
    const cpuText = (c: Cpu) => `${ms(c.node)} + ${ms(c.pg)} (state db ${ms(c.pgState)}, autovacuum ${ms(c.pgVacuum)}) + ${ms(c.redis)}`;
    const raws: Timed[] = [];
    const runs: Record<(typeof kinds)[number], Array<Awaited<ReturnType<typeof incident>>>> = { postgres: [], redis: [] };
    const perRound = [];
    const notes: string[] = [];
    // Interleaved, raw before and after each incident: a change in the machine's speed (another
    // process, a VM's neighbours) weighs on an incident and the raw runs beside it alike, and each
    // incident's ratio is to the mean of those two raw runs.
    let last = await raw(env, meter, 0);
    raws.push(last);
    const ratios: Record<(typeof kinds)[number], number[]> = { postgres: [], redis: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const row: Record<string, string | number> = { round: round + 1 };
      for (const kind of kinds) {
        const i = await incident(env, meter, kind, round);
        const next = await raw(env, meter, raws.length);
        raws.push(next);
        const base = (last.ms + next.ms) / 2;
        runs[kind].push(i);
        ratios[kind].push(i.ms / base);
        row[`${kind}: raw s before / after`] = `${(last.ms / 1000).toFixed(2)} / ${(next.ms / 1000).toFixed(2)}`;
        row[`${kind} s`] = (i.ms / 1000).toFixed(2);
        row[`${kind} ratio`] = (i.ms / base).toFixed(2);
        row[`${kind} first revoke ms`] = i.firstRevokeMs.toFixed(0);
        if (round === 0) notes.push(`${kind}: median ms per run: ${i.steps}`, `${kind}: per rotation: ${i.sessions}`, ...i.profile);
        last = next;
      }
      perRound.push(row);
    }
    const rows = kinds.map((kind) => {
      const r = ratios[kind];
      return {
        'queue backend': kind,
        secrets: SECRETS,
        targets: TARGETS,
        'per target': PER_TARGET,
        rounds: ROUNDS,
        'raw s (median)': (median(raws.map((r) => r.ms)) / 1000).toFixed(2),
        'incident s (median)': (median(runs[kind].map((i) => i.ms)) / 1000).toFixed(2),
        'ratio, median of rounds (target ≤ 1.3)': median(r).toFixed(2),
        'ratio range': `${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}`,
        'start → first revoke ms, median (target ≤ 1000)': median(runs[kind].map((i) => i.firstRevokeMs)).toFixed(0),
        'CPU ms per rotation, raw: node + pg (of which state db, autovacuum) + redis': cpuText(raws[0]!.cpu),
        'incident: node + pg + redis': cpuText(runs[kind][0]!.cpu),
      };
    });
    return [
      `Incident vs raw rotator script: ${SECRETS} alternating-user secrets on ${TARGETS} target databases, grace 0 (CPU and per-run figures from round 1)`,
      table(rows),
      '',
      table(perRound),
      '',
      `raw: per rotation: ${raws[0]!.sessions}`,
      ...notes,
      '',
    ].join('\n');
  } finally {
    await env.stop();
  }
}
