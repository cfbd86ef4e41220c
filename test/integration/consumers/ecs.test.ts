// The ecs consumer in full PostgreSQL rotations: the consumer is an ECS service (the stateful fake
// behind aws-sdk-client-mock) whose tasks, when they start, read CURRENT from the store and log in
// to the real PostgreSQL. A rollout that completes ends the run done; one that FAILED, or that the
// circuit breaker rolled back, rolls the credential back at once, naming the service, and the old
// password still logs in. The service's deployment for the old password fails too, so the new one,
// which tasks started meanwhile may hold, is kept working until `rotor repair`.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecsConsumer } from '../../../src/consumers/ecs/index.js';
import type { EcsParams } from '../../../src/consumers/ecs/descriptor.js';
import { requestRotation } from '../../../src/engine/request.js';
import { PermanentError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedConsumer } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { listSteps } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { FakeEcs } from '../../helpers/aws/ecs.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture, waitForRunEnd } from '../engine/fixtures.js';

const SECRET_OF: Record<string, string> = { api: 'ecs/api', billing: 'ecs/billing', jobs: 'ecs/jobs' };

let db: TestDatabase;
let kit: QueueKit;
let runtime: Runtime;
let store: SecretStore;
let uninstall: () => void;
/** Every task start: the service, its deployment and the user it logged in as (or the SQLSTATE). */
const tasks: Array<{ service: string; deployment: string; username: string; ok: true | string }> = [];

const ecs = new FakeEcs({
  stepMs: 60,
  // A task reads CURRENT, as a task definition's `secrets` does at start, and must log in.
  async startTask(service, deployment) {
    const current = await store.get(SECRET_OF[service]!, 'CURRENT');
    const ok = current ? await login(db, current.value.username, current.value.password) : 'no secret';
    tasks.push({ service, deployment, username: String(current?.value.username), ok });
    return ok === true;
  },
});

beforeAll(async () => {
  process.env.AWS_REGION ??= 'eu-central-1';
  db = await createTestDatabase('ecs_consumer');
  await migrate(db.pool);
  const roles = ['api', 'billing', 'jobs'].flatMap((s) => [`ecs_${s}_a`, `ecs_${s}_b`]);
  await db.pool.query(`create role ecs_app nologin; ${roles.map((r) => `create role ${r} login in role ecs_app;`).join(' ')}`);
  kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
  await loadRotators(['postgres']);
  store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
  uninstall = ecs.install();
  runtime = await startRuntime({
    pool: db.pool,
    kit,
    log: silentLogger,
    stores: { local: store },
    resolveRef: async () => db.url,
    nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
    pollMs: 50,
  });
});

afterAll(async () => {
  uninstall?.();
  await runtime?.close();
  await kit?.close();
  await db?.drop();
});

const consumer = (service: string, confirmTimeoutMs = 30_000): ResolvedConsumer => ({
  name: `${service}-service`,
  type: 'ecs',
  wave: 1,
  cacheTtlMs: undefined,
  confirmTimeoutMs,
  params: { cluster: 'prod', services: [service] },
});

/** A secret of alternating users whose first rotation (no consumer yet) is done: returns it and its CURRENT. */
async function rotatedOnce(service: string) {
  const secret = secretFixture(SECRET_OF[service]!, {
    graceMs: 100,
    rotator: {
      name: 'postgres',
      params: {
        strategy: 'alternating-users',
        target: {
          host: db.host,
          port: db.port,
          database: db.name,
          admin: 'env:ADMIN',
          sslmode: 'disable',
          users: [`ecs_${service}_a`, `ecs_${service}_b`],
          group: 'ecs_app',
        },
      },
    },
    consumers: [consumer(service)],
  });
  const sync = (s: typeof secret) =>
    syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
  await sync({ ...secret, consumers: [], hash: `bootstrap-${service}` });
  const first = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
  expect((await waitForRunEnd(db.pool, first.id)).state).toBe('done');
  await sync(secret);
  return { secret, old: (await store.get(secret.id, 'CURRENT'))! };
}

describe('an ECS service as the consumer of a PostgreSQL rotation', () => {
  it('ends done only after the new deployment COMPLETED with every task on the new credential; then the old one is revoked', async () => {
    await ecs.addService({ cluster: 'prod', name: 'api', desiredCount: 3 });
    const { secret, old } = await rotatedOnce('api');
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    const ended = await waitForRunEnd(db.pool, run.id);
    expect(ended.state).toBe('done');
    const next = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(next.username).not.toBe(old.value.username);

    const svc = (await ecs.service('prod', 'api'))!;
    expect(svc.deployments).toHaveLength(1);
    const [deployment] = svc.deployments;
    expect(deployment).toMatchObject({ status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 3, desiredCount: 3 });
    // The rollout completed before revoke started: rotor confirmed from ECS, not from a timer.
    const revoke = (await listSteps(db.pool, run.id)).find((s) => s.step === 'revoke')!;
    expect(deployment!.completedAt).toBeLessThanOrEqual(revoke.startedAt.getTime());
    // Every task of the new deployment started on the new credential, and logged in with it.
    const started = tasks.filter((t) => t.deployment === deployment!.id);
    expect(started).toHaveLength(3);
    expect(started.every((t) => t.username === next.username && t.ok === true)).toBe(true);
    expect(await ecs.calls()).toContain('UpdateService prod/api');
    expect(await login(db, old.value.username, old.value.password)).toBe('28P01');
    expect(await login(db, next.username, next.password)).toBe(true);
  });

  it.each([
    { service: 'billing', rollback: true },
    { service: 'jobs', rollback: false },
  ])(
    'a deployment that fails (circuit breaker rollback: $rollback) rolls the credential back at once, naming the service; the old password logs in, the new one is kept',
    async ({ service, rollback }) => {
      await ecs.addService({ cluster: 'prod', name: service, desiredCount: 2, circuitBreaker: { enable: true, rollback } });
      const { secret, old } = await rotatedOnce(service);
      // The next image crashes at start: its tasks never become healthy.
      await ecs.breakNewDeployments('prod', service);
      const began = Date.now();
      const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
      const ended = await waitForRunEnd(db.pool, run.id);
      // The deployment rotor starts for the old password fails too: nothing confirms the old version.
      expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rollback-unconfirmed' });
      expect(ended.error).toContain(`ECS service prod/${service}`);
      expect(ended.error).toContain(`consumer ${service}-service (ecs) cannot confirm the old version ${old.versionId}`);
      expect(ended.error).toMatch(/deployment ecs-svc\/\d+ FAILED: ECS deployment circuit breaker: tasks failed to start/);
      // Not the 30 s confirmTimeout: a failed rollout cannot confirm, so the engine does not wait for it.
      expect(Date.now() - began).toBeLessThan(15_000);
      expect((await store.get(secret.id, 'CURRENT'))!.versionId).toBe(old.versionId);
      expect(await login(db, old.value.username, old.value.password)).toBe(true);
      // Kept working and tracked: tasks started while it was CURRENT may hold it.
      const kept = (await store.getVersion(secret.id, ended.newVersion!))!.value;
      expect(await login(db, kept.username, kept.password)).toBe(true);
      expect((await store.get(secret.id, 'PREVIOUS'))!.versionId).toBe(ended.newVersion);
      const svc = (await ecs.service('prod', service))!;
      expect(svc.deployments.some((d) => d.rolloutState === 'FAILED')).toBe(true);
      // With rollback on, ECS started a deployment of the last completed one, as the circuit breaker does.
      expect(
        svc.deployments.some((d) => d.rolloutStateReason.startsWith('ECS deployment circuit breaker: rolling back to deploymentId')),
      ).toBe(rollback);
    },
  );
});

describe('the ecs consumer on its own', () => {
  const notice = {
    secretId: 'ecs/denied',
    runId: 'run-1',
    versionId: 'v1',
    store: { backend: 'local', location: 'x' },
    revokeAfter: new Date(),
  };
  const ctx = (params: EcsParams) => ({ params, resolveRef: async () => '', log: silentLogger, signal: new AbortController().signal });

  it('names the IAM action and the service when ECS denies UpdateService', async () => {
    await ecs.addService({ cluster: 'locked', name: 'web', desiredCount: 1 });
    await ecs.deny('ecs:UpdateService', 'locked');
    const err = await ecsConsumer.notify(ctx({ cluster: 'locked', services: ['web'] }), notice, undefined).then(
      () => undefined,
      (e: unknown) => e as PermanentError,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err!.message).toContain('AWS denied ecs:UpdateService on locked/web');
    expect(err!.hint).toContain('allow ecs:UpdateService on locked/web');
  });

  it('refuses a service that does not exist, saying which', async () => {
    const err = await ecsConsumer.confirm(ctx({ cluster: 'prod', services: ['ghost'] }), notice).then(
      () => undefined,
      (e: unknown) => e as PermanentError,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err!.message).toContain('ECS service prod/ghost does not exist');
  });
});
