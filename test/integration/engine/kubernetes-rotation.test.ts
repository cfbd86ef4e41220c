// Full PostgreSQL rotations whose store is a Kubernetes Secret and whose consumer is a Deployment
// reading it through envFrom, on the fake API server: the run ends done only after the rollout
// completed (every pod restarted with the new password), and a stalled rollout rolls the run back
// with the workload named while the old password still logs in to the real PostgreSQL. A workload
// that cannot restart with the old password either keeps the new one working: its pods took it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConsumers } from '../../../src/consumers/catalogue.js';
import { forgetKubernetesClients, RESTARTED_FOR } from '../../../src/consumers/kubernetes/index.js';
import { requestRotation } from '../../../src/engine/request.js';
import { forgetKubeConfigs } from '../../../src/kubernetes.js';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { runConsumers } from '../../../src/state/consumers.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createKubernetesStore } from '../../../src/store/kubernetes/store.js';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/k8s-fake/server.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture, TEST_TIMINGS, waitForRunEnd } from './fixtures.js';

describe('PostgreSQL rotations with a Kubernetes Secret and Deployment', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let api: FakeApiServer;
  let store: SecretStore;
  let kubeconfigBefore: string | undefined;
  const p = 'k8s_rot';

  beforeAll(async () => {
    // Pods take 150 ms to become ready: a rollout of 3 replicas spans several confirm polls.
    api = await startFakeApiServer({ podReadyMs: 150 });
    kubeconfigBefore = process.env.KUBECONFIG;
    process.env.KUBECONFIG = api.kubeconfigPath;
    forgetKubeConfigs();
    forgetKubernetesClients();
    db = await createTestDatabase('k8s_rotation');
    await migrate(db.pool);
    await db.pool.query(
      `create role ${p}_app nologin; create role ${p}_a login in role ${p}_app; create role ${p}_b login in role ${p}_app; create role ${p}_c login in role ${p}_app; create role ${p}_d login in role ${p}_app`,
    );
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    await loadRotators(['postgres']);
    await loadConsumers(['kubernetes']);
    store = createKubernetesStore();
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { kubernetes: store },
      resolveRef: async () => db.url,
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      ...TEST_TIMINGS,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.pool
      .query(
        `drop role if exists ${p}_a; drop role if exists ${p}_b; drop role if exists ${p}_c; drop role if exists ${p}_d; drop role if exists ${p}_app`,
      )
      .catch(() => undefined);
    await db?.drop();
    if (kubeconfigBefore === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = kubeconfigBefore;
    forgetKubeConfigs();
    forgetKubernetesClients();
    await api?.close();
  });

  function secretFor(id: string, secretName: string, users: string[], confirmTimeoutMs: number): ResolvedSecret {
    return secretFixture(id, {
      graceMs: 200,
      rotator: {
        name: 'postgres',
        params: {
          strategy: 'alternating-users',
          target: { host: db.host, port: db.port, database: db.name, admin: 'env:ADMIN', sslmode: 'disable', users, group: `${p}_app` },
        },
      },
      store: { backend: 'kubernetes', location: `payments/${secretName}`, params: { namespace: 'payments', name: secretName } },
      consumers: [
        {
          name: 'api',
          type: 'kubernetes',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs,
          params: { namespace: 'payments', mode: 'restart', workloads: [{ kind: 'Deployment', name: secretName }] },
        },
      ],
    });
  }

  const sync = (s: ResolvedSecret) =>
    syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
  const rotate = async (s: ResolvedSecret, timeoutMs = 20_000) =>
    waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: s.id, trigger: 'manual', actor: 'test' })).id, timeoutMs);
  const secretData = (name: string) =>
    Object.fromEntries(
      Object.entries(api.cluster.get('secrets', 'payments', name)?.data ?? {}).map(([k, v]) => [
        k,
        Buffer.from(String(v), 'base64').toString(),
      ]),
    );

  it('ends done only after the rollout completed, every pod restarted with the new password', async () => {
    const secret = secretFor('k8s/done', 'api', [`${p}_a`, `${p}_b`], 10_000);
    await sync({ ...secret, consumers: [], hash: 'bootstrap' });
    expect((await rotate(secret)).state).toBe('done');
    // The Deployment starts once the Secret exists, as a real one would (envFrom of a missing Secret fails).
    api.cluster.addWorkload('deployments', 'payments', 'api', { replicas: 3, secret: 'api' });
    await api.cluster.settled('payments');
    const before = secretData('api');
    expect(api.cluster.podsOf('payments', 'api').every((pod) => pod.env.api?.password === before.password)).toBe(true);

    await sync(secret);
    const run = await rotate(secret);
    expect(run).toMatchObject({ state: 'done', outcome: 'rotated' });
    const after = (await store.get('payments/api', 'CURRENT'))!;
    expect(after.versionId).toBe(run.newVersion);
    expect(secretData('api')).toMatchObject({ username: after.value.username, password: after.value.password });
    const pods = api.cluster.podsOf('payments', 'api');
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      expect(pod.annotations[RESTARTED_FOR]).toBe(run.newVersion);
      expect(pod.env.api?.password).toBe(after.value.password);
    }
    // Confirmed after the last new pod became ready, and the run ended after that.
    const [consumer] = await runConsumers(db.pool, run.id);
    const lastReady = Math.max(...pods.map((pod) => pod.readyAt));
    expect(consumer!.confirmedAt!.getTime()).toBeGreaterThanOrEqual(lastReady - 5);
    expect(run.finishedAt!.getTime()).toBeGreaterThanOrEqual(consumer!.confirmedAt!.getTime());
    expect(await login(db, after.value.username, after.value.password)).toBe(true);
    expect(await login(db, before.username, before.password)).toBe('28P01');
  });

  it('rolls back with the workload named when the rollout stalls; the old password logs in, the new one is kept while no pod confirmed the old', async () => {
    const secret = secretFor('k8s/stalled', 'billing', [`${p}_c`, `${p}_d`], 1_500);
    await sync({ ...secret, consumers: [], hash: 'bootstrap' });
    expect((await rotate(secret)).state).toBe('done');
    api.cluster.addWorkload('deployments', 'payments', 'billing', { replicas: 2, secret: 'billing' });
    await api.cluster.settled('payments');
    const old = (await store.get('payments/billing', 'CURRENT'))!;
    api.cluster.stalled.set('payments/billing', 'crash-loop');

    await sync(secret);
    const run = await rotate(secret);
    // The restart for the old password crash-loops too: rotor cannot see that no pod still uses the
    // new one, so it is not revoked.
    expect(run).toMatchObject({ state: 'needs-attention', outcome: 'rollback-unconfirmed' });
    expect(run.error).toContain('Deployment payments/billing');
    expect(run.error).toContain('CrashLoopBackOff');
    expect(run.error).toContain(`consumer api (kubernetes) cannot confirm the old version ${old.versionId}`);
    expect(run.error).toContain('rotor repair k8s/stalled');
    expect((await store.get('payments/billing', 'CURRENT'))!.versionId).toBe(old.versionId);
    expect((await store.get('payments/billing', 'PREVIOUS'))!.versionId).toBe(run.newVersion);
    expect(secretData('billing').password).toBe(old.value.password);
    expect(await login(db, old.value.username, old.value.password)).toBe(true);
    const kept = (await store.getVersion('payments/billing', run.newVersion!))!.value;
    expect(await login(db, kept.username, kept.password)).toBe(true);
    // The old pods kept serving throughout: two ready pods with the old password.
    const serving = api.cluster
      .podsOf('payments', 'billing')
      .filter((pod) => pod.readyAt <= Date.now() && pod.terminatingSince === undefined);
    expect(serving.length).toBeGreaterThanOrEqual(2);
    expect(serving.every((pod) => pod.env.billing?.password === old.value.password)).toBe(true);
  });
});
