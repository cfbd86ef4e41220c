// A running rotor for dashboard tests: a test database with secrets in every status, a queue, workers
// on the memory target (startRuntime), the dashboard server on a free port on 127.0.0.1, and the
// observe module (alerts, traces) beside it, as `rotor start` runs them.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { dashboardSettings } from '../../../src/dashboard/config.js';
import { startDashboard, type DashboardServer } from '../../../src/dashboard/server.js';
import { observeSettings } from '../../../src/observe/settings.js';
import { startObserve, type Observe } from '../../../src/observe/start.js';
import type { RunTracer } from '../../../src/observe/tracing.js';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import type { Freeze } from '../../../src/policy/freeze.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { RUNS_QUEUE, RUN_JOB_OPTIONS } from '../../../src/queue/names.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { claimRun, createRun, updateRun, type RunPatch } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { privateRedis, uniquePrefix } from '../../helpers/redis.js';
import { TEST_TIMINGS, secretFixture, waitForRunEnd } from '../engine/fixtures.js';
import { createMemoryTarget, memoryRotator, type MemoryTarget } from '../engine/memory-target.js';

const DAY = 86_400_000;

export interface DashboardEnv {
  db: TestDatabase;
  kit: QueueKit;
  runtime: Runtime;
  store: SecretStore;
  target: MemoryTarget;
  server: DashboardServer;
  observe: Observe;
  token: string | undefined;
  /** The secret rotated once at set-up (it has versions) and used for emergency rotations. */
  rotatable: string;
  /** The queued run of ops/deploy-key, whose job is delayed by an hour. */
  rotatingRunId: string;
  /** Syncs these secrets beside the seeds (due in a day unless a seed), as a policy change would. */
  addSecrets(secrets: ResolvedSecret[]): Promise<void>;
  stop(): Promise<void>;
}

export interface EnvOptions {
  backend: 'postgres' | 'redis';
  token?: string | undefined;
  env?: Record<string, string>;
  tracer?: RunTracer;
}

/** Every seed rotates monthly (as the runtime's nextDue below says): due soon is within 3d (10 %) of due. */
const MONTHLY = { kind: 'interval', ms: 30 * DAY, text: '30d' } as const;

/** One secret per status, plus the one that rotates. Ids, classes, owners and tags for the filters. */
export function seedSecrets(dir: string): Array<{ secret: ResolvedSecret; dueInMs: number }> {
  const seeds: Array<{ secret: ResolvedSecret; dueInMs: number }> = [
    {
      secret: secretFixture('payments/db-app', {
        className: 'critical',
        owner: 'payments',
        tags: ['pci', 'db'],
        graceMs: 300,
        emergencyGraceMs: 200,
        consumers: [
          {
            name: 'app-env',
            type: 'env-file',
            wave: 1,
            cacheTtlMs: undefined,
            confirmTimeoutMs: 5_000,
            params: { path: join(dir, 'app.env') },
          },
        ],
      }),
      dueInMs: 30 * DAY,
    },
    { secret: secretFixture('payments/api-key', { className: 'critical', owner: 'payments', tags: ['pci'] }), dueInMs: 2 * DAY },
    { secret: secretFixture('search/es-password', { className: 'standard', owner: 'search', tags: ['db'] }), dueInMs: -2 * DAY },
    { secret: secretFixture('billing/stripe-key', { className: 'standard', owner: 'billing', tags: [] }), dueInMs: 60 * DAY },
    { secret: secretFixture('ops/deploy-key', { className: 'standard', owner: 'ops', tags: ['ci'] }), dueInMs: 60 * DAY },
    { secret: secretFixture('legacy/old-db', { className: 'standard', owner: 'ops', tags: [] }), dueInMs: 60 * DAY },
  ];
  return seeds.map((s) => ({ ...s, secret: { ...s.secret, schedule: MONTHLY } }));
}

export async function startDashboardEnv(opts: EnvOptions): Promise<DashboardEnv> {
  const db = await createTestDatabase(`dashboard-${opts.backend}`);
  await migrate(db.pool);
  const dir = await mkdtemp(join(tmpdir(), 'rotor-dashboard-'));
  const kit = await createQueueKit(
    opts.backend === 'redis'
      ? { kind: 'redis', url: privateRedis().url, prefix: uniquePrefix('dashboard') }
      : { kind: 'postgres', url: db.url },
    silentLogger,
  );
  const target = createMemoryTarget();
  const store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
  const runtime = await startRuntime({
    pool: db.pool,
    kit,
    log: silentLogger,
    stores: { local: store },
    rotators: { memory: memoryRotator(target) },
    resolveRef: async () => '',
    nextDue: (_s, last) => new Date(last.getTime() + 30 * DAY),
    ...TEST_TIMINGS,
  });
  const seeds = seedSecrets(dir);
  const due = new Map(seeds.map((s) => [s.secret.id, s.dueInMs]));
  const sync = (secrets: ResolvedSecret[]) =>
    syncSecrets(db.pool, secrets, {
      actor: 'test',
      targetKeyOf: (s) => `memory://${s.id}`,
      nextDueOf: (s) => new Date(Date.now() + (due.get(s.id) ?? DAY)),
    });
  await sync(seeds.map((s) => s.secret));
  let synced = seeds.map((s) => s.secret).filter((s) => s.id !== 'legacy/old-db');
  await sync(synced); // retired
  // A first rotation, so the secret has versions (CURRENT) and values exist to leak.
  const rotatable = 'payments/db-app';
  const first = await requestRotation(db.pool, kit, { secretId: rotatable, trigger: 'manual', actor: 'test', reason: 'bootstrap' });
  const ended = await waitForRunEnd(db.pool, first.id);
  if (ended.state !== 'done') throw new Error(`bootstrap rotation ended in ${ended.state}: ${ended.error}`);
  // needs-attention: a run that ended badly (recorded directly; no worker needed).
  const failed = await createRun(db.pool, { secretId: 'billing/stripe-key', trigger: 'manual', actor: 'test' });
  await recordRunEnd(db.pool, failed.id, {
    state: 'needs-attention',
    step: 'finished',
    outcome: 'discarded',
    error: 'verify-new failed after 3 attempts: authentication failed',
    finishedAt: new Date(),
  });
  // rotating: a queued run whose job waits an hour, so it stays queued (and bull-board lists it).
  const rotating = await createRun(db.pool, { secretId: 'ops/deploy-key', trigger: 'manual', actor: 'test' });
  await kit.queue(RUNS_QUEUE).add('run', { runId: rotating.id }, { ...RUN_JOB_OPTIONS, jobId: rotating.id, delay: 3_600_000 });

  const settings = dashboardSettings({
    ROTOR_DASHBOARD_PORT: '0',
    ROTOR_DASHBOARD_POLL_MS: '100',
    ...(opts.token ? { ROTOR_DASHBOARD_TOKEN: opts.token } : {}),
    ...opts.env,
  });
  const server = await startDashboard({ pool: db.pool, kit, log: silentLogger, stores: { local: store }, settings });
  const observe = await startObserve({
    pool: db.pool,
    log: silentLogger,
    settings: observeSettings({ ROTOR_ALERT_POLL_MS: '100', ...opts.env }),
    linkBase: server.url,
    tracer: opts.tracer,
  });
  let stopped: Promise<void> | undefined;
  return {
    db,
    kit,
    runtime,
    store,
    target,
    server,
    observe,
    token: opts.token,
    rotatable,
    rotatingRunId: rotating.id,
    async addSecrets(secrets) {
      synced = [...synced, ...secrets];
      await sync(synced);
    },
    stop() {
      stopped ??= (async () => {
        await observe.close();
        await server.close();
        await runtime.close();
        await kit.close();
        await db.drop();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** A freeze window that holds from yesterday to tomorrow: only an override starts a run inside it. */
export function freezeNow(reason: string): Freeze {
  const now = Date.now();
  return { kind: 'range', start: now - DAY, end: now + DAY, tz: 'UTC', text: 'yesterday to tomorrow UTC', reason };
}

/** Records a run's end directly, as the pass holding its lease would (no worker needed). */
export async function recordRunEnd(pool: pg.Pool, runId: string, patch: RunPatch): Promise<void> {
  if (!(await claimRun(pool, runId, 'test', 60_000))) throw new Error(`run ${runId} could not be claimed`);
  await updateRun(pool, runId, 'test', patch);
}
