// Zero-downtime benchmark (issue: consumers): clients that reconnect all the time with the
// credential they hold, through alternating-user rotations by the real runtime, the real postgres
// rotator and the real webhook consumer, against a private PostgreSQL with scram-sha-256.
//
// Each client is an instance of the demo consumer app (examples/consumer-app) whose pool makes a
// new connection for every statement (maxUses 1), so every `select 1` is a fresh login with the
// credential the app holds at that moment. Apps reload only when rotor's signed webhook says so.
// Secrets rotate concurrently (each its own chain of rotations) to keep the run to a minute or two.
//
// The `mariadb` variant does the same with the mysql rotator's dual-password strategy against a
// private MariaDB: one account per secret, two passwords during grace, a fresh mysql2 login per check.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createConsumerApp, type ConsumerApp } from '../examples/consumer-app/app.js';
import { isAuthFailure } from '../examples/consumer-app/db.js';
import { requestRotation } from '../src/engine/request.js';
import type { ResolvedConsumer } from '../src/policy/types.js';
import { getRun } from '../src/state/runs.js';
import { createLocalStore } from '../src/store/local/store.js';
import { loadRotators } from '../src/rotator/catalogue.js';
import { startMariadbServer } from '../test/helpers/mariadb-server.js';
import { openMariadbPool } from './mariadb-pool.js';
import { alternatingSecret, benchEnv, benchRuntime, createRolePairs, percentile, syncAll, table, type BenchEnv } from './engine-setup.js';

const SECRETS = Number(process.env.BENCH_ZD_SECRETS ?? 10);
const ROUNDS = Number(process.env.BENCH_ZD_ROUNDS ?? 10); // SECRETS × ROUNDS rotations
const CLIENTS_PER_SECRET = 2;
const GRACE_MS = 3_000;
/** Longest pause between one connection closing and the client's next one opening. */
const MAX_PAUSE_MS = 20;
const KEY_ENV = 'BENCH_WEBHOOK_KEY';
/**
 * The same load, with no rotation running, first: the connect interval this machine gives 20
 * clients on its own (each login is a fork of a PostgreSQL backend and a scram-sha-256 exchange),
 * against which the interval during rotations is read.
 */
const BASELINE_MS = Number(process.env.BENCH_ZD_BASELINE_MS ?? 10_000);

interface Client {
  secretId: string;
  name: string;
  app: ConsumerApp;
  /** When this app reloaded each version (versionId → time). */
  reloads: Map<string, Date>;
}

interface Load {
  attempted: number;
  authFailures: number;
  otherFailures: number;
  /** A few examples of failures, for the report (messages carry no credential). */
  examples: string[];
  /** Time from one connection attempt's start to the next one's, per client. */
  intervals: number[];
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForEnd(env: BenchEnv, runId: string): Promise<string> {
  for (;;) {
    const run = await getRun(env.pool, runId);
    if (run?.state === 'done' || run?.state === 'needs-attention')
      return run.state === 'done' ? (run.outcome ?? 'done') : `needs-attention: ${run.error}`;
    await sleep(100);
  }
}

/** One secret's rotations, one after the other; returns their outcomes. */
async function chain(env: BenchEnv, kit: Parameters<typeof requestRotation>[1], secretId: string, rounds: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const run = await requestRotation(env.pool, kit, { secretId, trigger: 'manual', actor: 'bench' });
    outcomes.push(await waitForEnd(env, run.id));
  }
  return outcomes;
}

/** Every client connects, runs `select 1` and disconnects, pausing at most MAX_PAUSE_MS, until stopped. */
function startLoad(clients: Client[]): { stop(): Promise<Load> } {
  const load: Load = { attempted: 0, authFailures: 0, otherFailures: 0, examples: [], intervals: [], seconds: 0 };
  const started = performance.now();
  let running = true;
  const loops = clients.map(async (c) => {
    let last: number | undefined;
    while (running) {
      const started = performance.now();
      if (last !== undefined) load.intervals.push(started - last);
      last = started;
      load.attempted++;
      const h = await c.app.check();
      if (!h.ok) {
        if (isAuthFailure(h.code)) load.authFailures++;
        else load.otherFailures++;
        if (load.examples.length < 5) load.examples.push(`${c.name}: ${h.reason}`);
      }
      await sleep(Math.random() * MAX_PAUSE_MS);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      load.seconds = (performance.now() - started) / 1000;
      load.intervals.sort((a, b) => a - b);
      return load;
    },
  };
}

const rate = (l: Load) => (l.attempted / l.seconds).toFixed(0);
const interval = (l: Load) => `${percentile(l.intervals, 50).toFixed(1)} / ${percentile(l.intervals, 95).toFixed(1)}`;

export type ConsumersVariant = 'postgres' | 'mariadb';

export async function runConsumersBench(variant: ConsumersVariant = 'postgres'): Promise<{ report: string; ok: boolean }> {
  const env = await benchEnv();
  const maria = variant === 'mariadb' ? await startMariadbServer() : undefined;
  const webhookKey = randomBytes(32).toString('base64url');
  process.env[KEY_ENV] = webhookKey;
  const key = randomBytes(32);
  // The apps read the store on a pool of their own, as separate processes would.
  const appPool = new pg.Pool({ connectionString: env.url('bench'), max: 10 });
  appPool.on('error', () => undefined);
  const clients: Client[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  try {
    if (maria) {
      closers.push(() => maria.stop());
      process.env.BENCH_MYSQL_ADMIN = maria.url;
      await loadRotators(['mysql']);
    } else {
      await createRolePairs(env.pool, 'zd', SECRETS);
    }
    const ids = Array.from({ length: SECRETS }, (_, i) => `zd/s${i}`);
    for (const secretId of ids) {
      for (let j = 0; j < CLIENTS_PER_SECRET; j++) {
        const reloads = new Map<string, Date>();
        const app = await createConsumerApp({
          secretId,
          store: createLocalStore({ pool: appPool, key }),
          webhookKey,
          // One connection per statement, closed after it: every check is a fresh login.
          pool: { max: 1, maxUses: 1 },
          ...(maria ? { openPool: openMariadbPool } : {}),
          onReload: (versionId, at) => reloads.set(versionId, at),
        });
        closers.push(() => app.close());
        clients.push({ secretId, name: `${secretId}#${j}`, app, reloads });
      }
    }
    const secrets = ids.map((id, i) => {
      const consumers: ResolvedConsumer[] = clients
        .filter((c) => c.secretId === id)
        .map((c, j) => ({
          name: `app-${j}`,
          type: 'webhook',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 30_000,
          params: { url: `${c.app.url}/rotor/reload`, verify: `${c.app.url}/rotor/version`, secret: `env:${KEY_ENV}`, timeout: '5s' },
        }));
      const secret = alternatingSecret(env, id, `zd${i}`, { graceMs: GRACE_MS, drain: { mode: 'wait', timeoutMs: 30_000 }, consumers });
      if (!maria) return secret;
      const target = { host: maria.host, port: maria.port, admin: 'env:BENCH_MYSQL_ADMIN', user: `zd${i}`, provision: true };
      return { ...secret, rotator: { name: 'mysql', params: { strategy: 'dual-password', target } } };
    });
    await syncAll(env, secrets);
    const { kit, runtime } = await benchRuntime(env, 'postgres', {
      stores: { local: createLocalStore({ pool: env.pool, key }) },
      concurrency: SECRETS,
      pollMs: 100,
    });
    closers.unshift(
      () => runtime.close(),
      () => kit.close(),
    );

    // Bootstrap (not counted): each secret gets its first credential and every app loads it.
    const first = await Promise.all(ids.map((id) => chain(env, kit, id, 1)));
    if (first.flat().some((o) => o !== 'rotated')) throw new Error(`bootstrap rotations failed: ${first.flat().join('; ')}`);
    if (clients.some((c) => c.app.version() === null)) throw new Error('an app has no credential after the bootstrap rotation');
    const baselineLoad = startLoad(clients);
    await sleep(BASELINE_MS);
    const baseline = await baselineLoad.stop();
    const since = new Date();

    const load = startLoad(clients);
    const started = performance.now();
    const outcomes = (await Promise.all(ids.map((id) => chain(env, kit, id, ROUNDS)))).flat();
    const seconds = (performance.now() - started) / 1000;
    const result = await load.stop();

    // Staleness: promote → each app reloaded (the app's clock) and → rotor recorded its confirmation.
    const runs = await env.pool.query<{
      secret_id: string;
      new_version: string;
      promoted_at: Date;
      consumer: string;
      confirmed_at: Date | null;
    }>(
      `select r.secret_id, r.new_version, r.promoted_at, c.consumer, c.confirmed_at
         from runs r join run_consumers c on c.run_id = r.id
        where r.secret_id like 'zd/%' and r.created_at >= $1 and r.promoted_at is not null`,
      [since],
    );
    const reloaded: number[] = [];
    const confirmed: number[] = [];
    let missing = 0;
    for (const row of runs.rows) {
      const client = clients.filter((c) => c.secretId === row.secret_id)[Number(row.consumer.replace('app-', ''))];
      const at = client?.reloads.get(row.new_version);
      if (at) reloaded.push(at.getTime() - row.promoted_at.getTime());
      else missing++;
      if (row.confirmed_at) confirmed.push(row.confirmed_at.getTime() - row.promoted_at.getTime());
    }
    reloaded.sort((a, b) => a - b);
    confirmed.sort((a, b) => a - b);
    const rotated = outcomes.filter((o) => o === 'rotated').length;
    const failures = result.authFailures + result.otherFailures + baseline.authFailures + baseline.otherFailures;
    const ok = failures === 0 && rotated === outcomes.length && missing === 0;

    const out = [
      maria
        ? `Zero downtime, MariaDB: ${SECRETS} secrets × ${ROUNDS} dual-password rotations (mysql rotator, grace ${GRACE_MS / 1000}s), ${clients.length} clients (${CLIENTS_PER_SECRET} demo apps per secret, signed webhook + verify URL), each a new mysql_native_password login + SELECT 1 after a pause of 0–${MAX_PAUSE_MS} ms`
        : `Zero downtime: ${SECRETS} secrets × ${ROUNDS} alternating-user rotations (grace ${GRACE_MS / 1000}s), ${clients.length} clients (${CLIENTS_PER_SECRET} demo apps per secret, signed webhook + verify URL), each a new scram-sha-256 login + select 1 after a pause of 0–${MAX_PAUSE_MS} ms`,
      table([
        {
          rotations: `${rotated}/${outcomes.length}`,
          'connections attempted': result.attempted,
          'failed authentications (target 0)': result.authFailures,
          'other failures': result.otherFailures,
          'promote → reloaded p50/p95 ms': `${percentile(reloaded, 50).toFixed(0)} / ${percentile(reloaded, 95).toFixed(0)}`,
          'promote → confirmed p50/p95 ms': `${percentile(confirmed, 50).toFixed(0)} / ${percentile(confirmed, 95).toFixed(0)}`,
          'connect interval p50/p95 ms': interval(result),
          'wall s': seconds.toFixed(1),
        },
      ]),
      '',
      `Connect interval (one attempt's start to the next, per client; target ≤ ${MAX_PAUSE_MS} ms): this machine's own, the same 20 clients for ${BASELINE_MS / 1000} s with no rotation, against during the rotations`,
      table([
        {
          load: 'no rotation (machine ceiling)',
          'logins/s': rate(baseline),
          'connect interval p50/p95 ms': interval(baseline),
          'failed authentications': baseline.authFailures,
        },
        {
          load: 'during rotations',
          'logins/s': rate(result),
          'connect interval p50/p95 ms': interval(result),
          'failed authentications': result.authFailures,
        },
        {
          load: 'during ÷ no rotation',
          'logins/s': (result.attempted / result.seconds / (baseline.attempted / baseline.seconds)).toFixed(2),
          'connect interval p50/p95 ms': `${(percentile(result.intervals, 50) / percentile(baseline.intervals, 50)).toFixed(2)} / ${(percentile(result.intervals, 95) / percentile(baseline.intervals, 95)).toFixed(2)}`,
          'failed authentications': '',
        },
      ]),
    ];
    if (rotated !== outcomes.length)
      out.push(
        '',
        `runs that did not rotate: ${outcomes
          .filter((o) => o !== 'rotated')
          .slice(0, 5)
          .join('; ')}`,
      );
    if (missing) out.push('', `${missing} (run, app) pairs have no recorded reload`);
    if (result.examples.length) out.push('', 'failures, first few:', ...result.examples.map((e) => `  ${e}`));
    return { report: out.join('\n'), ok };
  } finally {
    for (const close of closers) await close().catch(() => undefined);
    await appPool.end().catch(() => undefined);
    await env.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { report, ok } = await runConsumersBench(process.argv[2] === 'mariadb' ? 'mariadb' : 'postgres');
  console.log(report);
  process.exit(ok ? 0 : 1);
}
