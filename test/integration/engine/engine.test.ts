import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from '../../../src/consumers/contract.js';
import { requestRotation } from '../../../src/engine/request.js';
import { AlreadyInProgressError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { listAudit } from '../../../src/state/audit.js';
import { migrate } from '../../../src/state/migrate.js';
import { runConsumers } from '../../../src/state/consumers.js';
import { listRuns, listSteps } from '../../../src/state/runs.js';
import { waitFor } from '../../helpers/wait.js';
import { getSecret, syncSecrets } from '../../../src/state/secrets.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { privateRedis, uniquePrefix } from '../../helpers/redis.js';
import { TEST_TIMINGS, secretFixture, waitForRunEnd } from './fixtures.js';
import { recordTransitions, recordedTransitions } from './transition-log.js';
import { INITIAL_RUN_STATE, canTransition } from '../../../src/engine/transitions.js';
import { createMemoryTarget, memoryRotator, type MemoryTarget } from './memory-target.js';
import { randomBytes } from 'node:crypto';

/**
 * A consumer that reports whatever version it was last told; when stubborn, it never takes a version
 * the run made and reports the one it still uses (so a rollback to it is confirmed).
 */
function recordingConsumer(log: Array<{ name: string; version: string; at: number }>, stubborn = false): Consumer<{ name?: string }> {
  const seen = new Map<string, string>();
  return {
    type: stubborn ? 'stubborn' : 'recording',
    carriesValue: false,
    async notify(ctx, notice) {
      const name = ctx.params.name ?? 'anon';
      seen.set(name, notice.versionId);
      log.push({ name, version: notice.versionId, at: Date.now() });
    },
    async confirm(ctx, notice) {
      if (stubborn) return notice.versionId.startsWith(notice.runId) ? 'still-the-old-one' : notice.versionId;
      return seen.get(ctx.params.name ?? 'anon') ?? null;
    },
  };
}

/** Confirms only `delayMs` after it was notified, recording when it first confirmed. */
function slowConsumer(delayMs: number, confirmedAt: Map<string, number>): Consumer<{ name?: string }> {
  const told = new Map<string, { version: string; at: number }>();
  return {
    type: 'slow',
    carriesValue: false,
    async notify(ctx, notice) {
      told.set(ctx.params.name ?? 'anon', { version: notice.versionId, at: Date.now() });
    },
    async confirm(ctx) {
      const name = ctx.params.name ?? 'anon';
      const t = told.get(name);
      if (!t || Date.now() - t.at < delayMs) return null;
      if (!confirmedAt.has(name)) confirmedAt.set(name, Date.now());
      return t.version;
    },
  };
}

/** Consecutive repeats collapsed: the order of distinct effects. */
const effects = (calls: string[]) => calls.filter((c, i) => c !== calls[i - 1]);

describe.each(['postgres', 'redis'] as const)('the engine on the %s queue backend', (backend) => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let target: MemoryTarget;
  let dir: string;
  const notices: Array<{ name: string; version: string; at: number }> = [];
  const slowConfirmedAt = new Map<string, number>();

  async function sync(...secrets: ResolvedSecret[]) {
    await syncSecrets(db.pool, secrets, {
      actor: 'test',
      targetKeyOf: () => 'memory://target',
      nextDueOf: () => new Date(Date.now() + 86_400_000),
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase(`engine-${backend}`);
    await migrate(db.pool);
    await recordTransitions(db.pool);
    dir = await mkdtemp(join(tmpdir(), 'rotor-engine-'));
    kit = await createQueueKit(
      backend === 'redis' ? { kind: 'redis', url: privateRedis().url, prefix: uniquePrefix('engine') } : { kind: 'postgres', url: db.url },
      silentLogger,
    );
    target = createMemoryTarget();
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { local: createLocalStore({ pool: db.pool, key: randomBytes(32) }) },
      rotators: { memory: memoryRotator(target) },
      consumers: {
        recording: recordingConsumer(notices),
        stubborn: recordingConsumer(notices, true),
        slow: slowConsumer(250, slowConfirmedAt),
      },
      resolveRef: async () => '',
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      ...TEST_TIMINGS,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('rotates: the new credential works, and the old one is revoked only after grace and confirmation', async () => {
    const envFile = join(dir, 'app.env');
    const secret = secretFixture(`app/db-${backend}`, {
      graceMs: 400,
      consumers: [
        { name: 'web', type: 'recording', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 5_000, params: { name: 'web' } },
        { name: 'file', type: 'env-file', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 5_000, params: { path: envFile } },
      ],
    });
    await sync(secret);
    const first = await waitForRunEnd(
      db.pool,
      (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id,
    );
    expect(first.state).toBe('done');
    const store = runtime.deps.store('local');
    const v1 = (await store.get(secret.id, 'CURRENT'))!;
    expect(target.works(v1.value)).toBe(true);

    target.calls.length = 0;
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'alice', reason: 'test' });
    const ended = await waitForRunEnd(db.pool, run.id);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated', oldVersion: v1.versionId });
    const v2 = (await store.get(secret.id, 'CURRENT'))!;
    expect(v2.versionId).toBe(ended.newVersion);
    expect(target.works(v2.value)).toBe(true);
    expect(target.works(v1.value)).toBe(false);
    // The order of effects is the safety argument.
    // (inUse is also sampled during grace, hence the collapsed repeats.)
    expect(effects(target.calls)).toEqual(['generate', 'apply', 'verify', 'inUse', 'revoke']);
    const steps = (await listSteps(db.pool, run.id)).filter((s) => s.status === 'succeeded').map((s) => s.step);
    expect(steps).toEqual(['create', 'verify-new', 'promote', 'distribute', 'grace', 'verify-consumers', 'revoke', 'finish']);
    // Grace was waited: revoke came at least graceMs after promote.
    const revokeStep = (await listSteps(db.pool, run.id)).find((s) => s.step === 'revoke' && s.status === 'succeeded')!;
    expect(revokeStep.startedAt.getTime() - ended.promotedAt!.getTime()).toBeGreaterThanOrEqual(390);
    expect(await readFile(envFile, 'utf8')).toContain(`# rotor-version: ${v2.versionId}`);
    expect((await getSecret(db.pool, secret.id))!.lastRunId).toBe(run.id);
    const actions = (await listAudit(db.pool, { runId: run.id })).map((a) => a.action).reverse();
    expect(actions[0]).toBe('run.requested');
    expect(actions.at(-1)).toBe('run.done');
  });

  it('tells consumers wave by wave, and records how stale each one and the old credential were', async () => {
    const secret = secretFixture(`app/waves-${backend}`, {
      graceMs: 700,
      consumers: [
        {
          name: `first-${backend}`,
          type: 'slow',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 5_000,
          params: { name: `first-${backend}` },
        },
        {
          name: `second-${backend}`,
          type: 'recording',
          wave: 2,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 5_000,
          params: { name: `second-${backend}` },
        },
      ],
    });
    await sync({ ...secret, consumers: [], hash: 'bootstrap' });
    await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id);
    const old = (await runtime.deps.store('local').get(secret.id, 'CURRENT'))!;
    await sync(secret);
    // A client keeps a session on the old credential until shortly after wave 2 is told.
    target.sessions.set(String(old.value.username), 1);
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    await waitFor(() => notices.some((n) => n.name === `second-${backend}`), { message: 'wave 2 notified' });
    setTimeout(() => target.sessions.set(String(old.value.username), 0), 150);
    const ended = await waitForRunEnd(db.pool, run.id);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });

    // Wave 2 was told only after wave 1 confirmed, which took at least its 250 ms.
    const firstConfirmed = slowConfirmedAt.get(`first-${backend}`)!;
    const secondNotified = notices.find((n) => n.name === `second-${backend}` && n.version === ended.newVersion)!.at;
    expect(secondNotified).toBeGreaterThanOrEqual(firstConfirmed);
    const consumers = await runConsumers(db.pool, run.id);
    expect(consumers.map((c) => [c.consumer, c.wave])).toEqual([
      [`first-${backend}`, 1],
      [`second-${backend}`, 2],
    ]);
    expect(consumers[0]!.confirmedAfterMs).toBeGreaterThanOrEqual(240);
    expect(consumers[1]!.notifiedAt!.getTime()).toBeGreaterThanOrEqual(consumers[0]!.confirmedAt!.getTime());
    // The old credential was seen in use after promote, and no longer when revoke was decided.
    expect(ended.oldLastSeenAt!.getTime()).toBeGreaterThanOrEqual(ended.promotedAt!.getTime());
    expect(ended.oldSessionsSeen).toBe(0);
    target.sessions.clear();
  });

  it('escalates an active routine run when an emergency is asked for: same run, emergency grace, audited', async () => {
    // An emergency grace of 3 s keeps the escalated run under way for the second request below
    // (with none, it could finish first, and that request would rightly start a new run).
    const secret = secretFixture(`app/escalate-${backend}`, { graceMs: 60_000, emergencyGraceMs: 3_000 });
    await sync({ ...secret, graceMs: 0, hash: 'bootstrap' });
    await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id);
    await sync(secret);
    const routine = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'schedule', actor: 'scheduler' });
    // The routine run would sit in its one-minute grace window.
    await waitFor(async () => (await listSteps(db.pool, routine.id)).some((s) => s.step === 'grace' && s.status === 'waiting'), {
      message: 'routine run in grace',
    });
    const asked = Date.now();
    const escalated = await requestRotation(db.pool, kit, {
      secretId: secret.id,
      trigger: 'emergency',
      actor: 'oncall',
      reason: 'key leaked',
    });
    expect(escalated).toMatchObject({ id: routine.id, trigger: 'emergency', reason: 'key leaked' });
    // A second emergency for the same secret is refused: one is already under way.
    await expect(
      requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'emergency', actor: 'oncall', reason: 'again' }),
    ).rejects.toBeInstanceOf(AlreadyInProgressError);
    const ended = await waitForRunEnd(db.pool, routine.id);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated', trigger: 'emergency' });
    expect(Date.now() - asked).toBeLessThan(10_000);
    const escalation = (await listAudit(db.pool, { runId: routine.id })).find((a) => a.action === 'run.escalated')!;
    expect(escalation).toMatchObject({ actor: 'oncall', reason: 'key leaked', detail: { from: 'schedule', to: 'emergency' } });
    expect(await listRuns(db.pool, secret.id)).toHaveLength(2);
  });

  it('adding a job under the id of one that failed every attempt retries it, attempts reset; a job still waiting is kept', async () => {
    // A queue of its own, so the engine's workers never take the job.
    const queue = kit.queue('rotor-test-failed-ids');
    const opts = { jobId: `failed-${backend}`, attempts: 2, removeOnComplete: true };
    const failing = kit.worker(
      queue.raw.name,
      async () => {
        throw new Error('the state database is unreachable (test)');
      },
      { concurrency: 1 },
    );
    await queue.add('run', { runId: 'r1' }, opts);
    const failed = await waitFor(
      async () => ((await queue.raw.getJobState(opts.jobId)) === 'failed' ? queue.raw.getJob(opts.jobId) : null),
      {
        message: 'the job to fail both attempts',
      },
    );
    await failing.close();
    expect(failed!.attemptsMade).toBe(2);

    await queue.add('run', { runId: 'r1' }, opts);
    await queue.add('run', { runId: 'r1' }, opts);
    const retried = (await queue.raw.getJob(opts.jobId))!;
    expect([await retried.getState(), retried.attemptsMade]).toEqual(['waiting', 0]);
    expect(await queue.raw.getJobCounts('wait', 'failed')).toEqual({ wait: 1, failed: 0 });
    // And it runs: a worker takes it to completion.
    const ran: string[] = [];
    const working = kit.worker(queue.raw.name, async (job) => void ran.push(job.data.runId), { concurrency: 1 });
    await waitFor(async () => (await queue.raw.getJobState(opts.jobId)) === 'unknown', { message: 'the retried job to complete' });
    await working.close();
    expect(ran).toEqual(['r1']);
  });

  it('answers 50 concurrent rotate requests for one secret with exactly one run', async () => {
    const secret = secretFixture(`app/concurrent-${backend}`, { graceMs: 200 });
    await sync(secret);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })),
    );
    const created = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(created).toHaveLength(1);
    expect(refused.every((r) => (r as PromiseRejectedResult).reason instanceof AlreadyInProgressError)).toBe(true);
    const runId = (created[0] as PromiseFulfilledResult<{ id: string }>).value.id;
    expect(refused.every((r) => ((r as PromiseRejectedResult).reason as AlreadyInProgressError).runId === runId)).toBe(true);
    await waitForRunEnd(db.pool, runId);
    expect(await listRuns(db.pool, secret.id)).toHaveLength(1);
  });

  it('ends in needs-attention after the configured attempts when the target is down, and the old credential still works', async () => {
    const secret = secretFixture(`app/down-${backend}`, { retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 30 } });
    await sync(secret);
    await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id);
    const store = runtime.deps.store('local');
    const before = (await store.get(secret.id, 'CURRENT'))!;
    target.failing.add('verify');
    try {
      const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
      const ended = await waitForRunEnd(db.pool, run.id);
      expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
      expect(ended.error).toContain('verify-new failed after 3 attempts');
      const verifies = (await listSteps(db.pool, run.id)).filter((s) => s.step === 'verify-new');
      expect(verifies.map((s) => s.status)).toEqual(['failed', 'failed', 'failed']);
      expect((await store.get(secret.id, 'CURRENT'))!.versionId).toBe(before.versionId);
      expect(await store.get(secret.id, 'PENDING')).toBeNull();
      expect(target.works(before.value)).toBe(true);
    } finally {
      target.failing.delete('verify');
    }
  });

  it('waits for the old credential to drain, then rolls back when it does not within the limit', async () => {
    const secret = secretFixture(`app/drain-${backend}`, { graceMs: 50, drain: { mode: 'wait', timeoutMs: 400 } });
    await sync(secret);
    await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id);
    const store = runtime.deps.store('local');
    const before = (await store.get(secret.id, 'CURRENT'))!;
    target.sessions.set(String(before.value.username), 3);
    try {
      const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
      const ended = await waitForRunEnd(db.pool, run.id);
      expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
      expect(ended.error).toContain('3 live session(s)');
      const waits = (await listSteps(db.pool, run.id)).filter((s) => s.step === 'verify-consumers' && s.status === 'waiting');
      expect(waits.length).toBeGreaterThan(1);
      expect((await store.get(secret.id, 'CURRENT'))!.versionId).toBe(before.versionId);
      expect(target.works(before.value)).toBe(true);
    } finally {
      target.sessions.clear();
    }
  });

  it('ends a run whose rotator is unknown in needs-attention at once, with the reason, and never retries it', async () => {
    const secret = secretFixture(`app/unknown-rotator-${backend}`, { rotator: { name: 'not-built-yet', params: {} } });
    await sync(secret);
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    const ended = await waitForRunEnd(db.pool, run.id);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(ended.error).toContain('rotator not-built-yet is not available');
    expect(await listSteps(db.pool, run.id)).toEqual([]);
  });

  it('rolls back when a consumer never confirms: old credential current and working, new one revoked, consumer named', async () => {
    const secret = secretFixture(`app/stubborn-${backend}`, {
      consumers: [
        { name: 'legacy-batch', type: 'stubborn', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 300, params: { name: 'legacy' } },
      ],
    });
    await sync(secret);
    const store = runtime.deps.store('local');
    // First rotation bootstraps a credential with no consumer in the way.
    await sync({ ...secret, consumers: [], hash: 'bootstrap' });
    await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id);
    const before = (await store.get(secret.id, 'CURRENT'))!;
    await sync(secret);
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    const ended = await waitForRunEnd(db.pool, run.id);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    expect(ended.error).toContain('legacy-batch');
    expect((await store.get(secret.id, 'CURRENT'))!.versionId).toBe(before.versionId);
    expect(target.works(before.value)).toBe(true);
    const rejected = await store.getVersion(secret.id, ended.newVersion!);
    expect(rejected && target.works(rejected.value)).toBe(false);
  });

  // Last: the runs above went through success, escalation, retries, drain, rollback and discard.
  it('moved runs only along the table of run-state transitions, and into both ends', async () => {
    const seen = await recordedTransitions(db.pool);
    for (const { from, to } of seen) {
      if (from === null) expect(to).toBe(INITIAL_RUN_STATE);
      else expect(canTransition(from, to), `${from} → ${to}`).toBe(true);
    }
    const pairs = seen.map(({ from, to }) => `${from ?? 'new'} → ${to}`);
    expect(pairs).toEqual(
      expect.arrayContaining([
        'new → queued',
        'queued → running',
        'running → waiting',
        'waiting → running',
        'running → done',
        'running → needs-attention',
      ]),
    );
  });
});
