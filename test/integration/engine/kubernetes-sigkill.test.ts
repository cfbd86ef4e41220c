// SIGKILL during a rollout wait: the worker is killed while the Deployment it restarted is still
// rolling out (the run waiting in distribute); a new worker takes the run over, does not restart the
// workload a second time, confirms once the rollout completed, and the run ends with one working
// credential in the Secret and every pod running it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTARTED_FOR } from '../../../src/consumers/kubernetes/index.js';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { migrate } from '../../../src/state/migrate.js';
import { getRun } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { forgetKubeConfigs } from '../../../src/kubernetes.js';
import { createKubernetesStore } from '../../../src/store/kubernetes/store.js';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/k8s-fake/server.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';
import { killWorker, spawnWorker as spawnChild, type WorkerHandle } from '../../helpers/worker-child.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';

const WORKER = new URL('./kubernetes-worker-process.ts', import.meta.url).pathname;

describe('a worker killed with SIGKILL during a rollout wait', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let api: FakeApiServer;
  let kubeconfigBefore: string | undefined;
  const workers: WorkerHandle[] = [];

  async function spawnWorker(): Promise<WorkerHandle> {
    const worker = await spawnChild(WORKER, { DATABASE_URL: db.url, KUBECONFIG: api.kubeconfigPath, K8S_ADMIN_URL: db.url });
    workers.push(worker);
    return worker;
  }

  beforeAll(async () => {
    // Pods take 700 ms to become ready: a rollout of 3 replicas lasts a few seconds.
    api = await startFakeApiServer({ podReadyMs: 700 });
    kubeconfigBefore = process.env.KUBECONFIG;
    process.env.KUBECONFIG = api.kubeconfigPath;
    forgetKubeConfigs();
    db = await createTestDatabase('k8s_sigkill');
    await migrate(db.pool);
    await db.pool.query('create role k8k_app nologin; create role k8k_a login in role k8k_app; create role k8k_b login in role k8k_app');
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
  });

  afterAll(async () => {
    for (const w of workers) await killWorker(w);
    await kit?.close();
    await db?.pool.query('drop role if exists k8k_a; drop role if exists k8k_b; drop role if exists k8k_app').catch(() => undefined);
    await db?.drop();
    if (kubeconfigBefore === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = kubeconfigBefore;
    forgetKubeConfigs();
    await api?.close();
  });

  it('a new worker confirms the rollout it did not start, once, and the run ends with one working credential', async () => {
    const consumer = {
      name: 'api',
      type: 'kubernetes',
      wave: 1,
      cacheTtlMs: undefined,
      confirmTimeoutMs: 60_000,
      params: { namespace: 'shop', mode: 'restart', workloads: [{ kind: 'Deployment', name: 'api' }] },
    };
    const secret = secretFixture('k8s/kill', {
      graceMs: 200,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      rotator: {
        name: 'postgres',
        params: {
          strategy: 'alternating-users',
          target: {
            host: db.host,
            port: db.port,
            database: db.name,
            users: ['k8k_a', 'k8k_b'],
            group: 'k8k_app',
            admin: 'env:K8S_ADMIN_URL',
            sslmode: 'disable',
          },
        },
      },
      store: { backend: 'kubernetes', location: 'shop/api', params: { namespace: 'shop', name: 'api' } },
      consumers: [consumer],
    });
    const sync = (s: typeof secret) =>
      syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: () => 'pg', nextDueOf: () => new Date(Date.now() + 86_400_000) });
    await sync({ ...secret, consumers: [], hash: 'bootstrap' });
    let worker = await spawnWorker();
    const boot = await waitForRunEnd(
      db.pool,
      (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id,
      30_000,
    );
    expect(boot.state).toBe('done');
    const store = createKubernetesStore();
    const old = (await store.get('shop/api', 'CURRENT'))!;
    api.cluster.addWorkload('deployments', 'shop', 'api', { replicas: 3, secret: 'api' });
    await api.cluster.settled('shop');

    await sync(secret);
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    // Kill as soon as the restart is in and the rollout is still under way.
    const newVersion = await waitFor(
      async () => {
        const v = (await getRun(db.pool, run.id))?.newVersion;
        const d = api.cluster.get('deployments', 'shop', 'api');
        return v && d?.spec.template.metadata.annotations?.[RESTARTED_FOR] === v ? v : undefined;
      },
      { timeoutMs: 30_000, message: 'the rolling restart' },
    );
    const rolling = api.cluster.podsOf('shop', 'api').filter((p) => p.annotations[RESTARTED_FOR] === newVersion && p.readyAt <= Date.now());
    expect(rolling.length).toBeLessThan(3);
    await killWorker(worker);
    expect((await getRun(db.pool, run.id))!.step).toBe('distribute');

    worker = await spawnWorker();
    const ended = await waitForRunEnd(db.pool, run.id, 60_000);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
    // One restart: the new worker found the template already restarted for this version.
    expect(api.cluster.get('deployments', 'shop', 'api')!.metadata.generation).toBe(2);
    const current = (await store.get('shop/api', 'CURRENT'))!;
    expect(current.versionId).toBe(newVersion);
    const versions = await store.describe('shop/api');
    expect(versions.filter((v) => v.stages.includes('CURRENT'))).toHaveLength(1);
    expect(versions.filter((v) => v.stages.includes('PENDING'))).toHaveLength(0);
    const pods = api.cluster.podsOf('shop', 'api');
    expect(pods).toHaveLength(3);
    expect(
      pods.every(
        (p) => p.annotations[RESTARTED_FOR] === newVersion && p.readyAt <= Date.now() && p.env.api?.password === current.value.password,
      ),
    ).toBe(true);
    expect(await login(db, current.value.username, current.value.password)).toBe(true);
    expect(await login(db, old.value.username, old.value.password)).toBe('28P01');
    await killWorker(worker);
  }, 120_000);
});
