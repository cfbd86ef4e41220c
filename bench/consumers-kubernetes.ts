// Zero-downtime benchmark, Kubernetes variant (`consumers:kubernetes`): the clients are pods of
// fake Deployments (test/helpers/k8s-fake, spoken to by the real @kubernetes/client-node) that
// read their Secret through envFrom when they start, so they pick up a new password only when the
// kubernetes consumer restarts them. 5 secrets × 10 alternating-user rotations by the real runtime
// and postgres rotator against a private PostgreSQL; each Secret is a `kubernetes` store; each
// Deployment has 4 replicas: 20 clients. Each client is a replica slot that, like traffic routed by
// a Service, logs in with the credential of one of its Deployment's ready pods, a fresh
// scram-sha-256 login per check.
import pg from 'pg';
import { loadConsumers } from '../src/consumers/catalogue.js';
import { requestRotation } from '../src/engine/request.js';
import { forgetKubeConfigs } from '../src/kubernetes.js';
import { getRun } from '../src/state/runs.js';
import { createKubernetesStore } from '../src/store/kubernetes/store.js';
import { startFakeApiServer } from '../test/helpers/k8s-fake/server.js';
import { alternatingSecret, benchEnv, benchRuntime, createRolePairs, percentile, syncAll, table } from './engine-setup.js';

const SECRETS = Number(process.env.BENCH_K8S_SECRETS ?? 5);
const ROUNDS = Number(process.env.BENCH_K8S_ROUNDS ?? 10);
const REPLICAS = 4;
const GRACE_MS = 2_000;
const MAX_PAUSE_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runKubernetesConsumersBench(): Promise<{ report: string; ok: boolean }> {
  const env = await benchEnv();
  const api = await startFakeApiServer({ podReadyMs: 150 });
  process.env.KUBECONFIG = api.kubeconfigPath;
  forgetKubeConfigs();
  const closers: Array<() => Promise<unknown>> = [];
  try {
    await createRolePairs(env.pool, 'kz', SECRETS);
    await loadConsumers(['kubernetes']);
    const ids = Array.from({ length: SECRETS }, (_, i) => `kz/s${i}`);
    const name = (i: number) => `app-${i}`;
    const secrets = ids.map((id, i) =>
      alternatingSecret(env, id, `kz${i}`, {
        graceMs: GRACE_MS,
        drain: { mode: 'wait', timeoutMs: 30_000 },
        store: { backend: 'kubernetes', location: `bench/${name(i)}`, params: { namespace: 'bench', name: name(i) } },
        consumers: [
          {
            name: 'deployment',
            type: 'kubernetes',
            wave: 1,
            cacheTtlMs: undefined,
            confirmTimeoutMs: 60_000,
            params: { namespace: 'bench', mode: 'restart', workloads: [{ kind: 'Deployment', name: name(i) }] },
          },
        ],
      }),
    );
    await syncAll(
      env,
      secrets.map((s) => ({ ...s, consumers: [], hash: `bootstrap-${s.id}` })),
    );
    const { kit, runtime } = await benchRuntime(env, 'postgres', {
      stores: { kubernetes: createKubernetesStore() },
      concurrency: SECRETS,
      pollMs: 100,
    });
    closers.unshift(
      () => runtime.close(),
      () => kit.close(),
    );
    const rotate = async (secretId: string): Promise<string> => {
      const run = await requestRotation(env.pool, kit, { secretId, trigger: 'manual', actor: 'bench' });
      for (;;) {
        const r = await getRun(env.pool, run.id);
        if (r?.state === 'done' || r?.state === 'needs-attention')
          return r.state === 'done' ? (r.outcome ?? 'done') : `needs-attention: ${r.error}`;
        await sleep(100);
      }
    };
    // Bootstrap (not counted): each Secret gets its first credential, then its Deployment starts.
    const first = await Promise.all(ids.map(rotate));
    if (first.some((o) => o !== 'rotated')) throw new Error(`bootstrap rotations failed: ${first.join('; ')}`);
    ids.forEach((_, i) => api.cluster.addWorkload('deployments', 'bench', name(i), { replicas: REPLICAS, secret: name(i) }));
    await api.cluster.settled('bench', 10_000);
    await syncAll(env, secrets);

    const f = env.server.facts;
    let running = true;
    let attempted = 0;
    let authFailures = 0;
    let otherFailures = 0;
    const examples: string[] = [];
    const loops = Array.from({ length: SECRETS * REPLICAS }, async (_, c) => {
      const workload = name(c % SECRETS);
      while (running) {
        // A Service routes to ready pods that are not terminating.
        const pods = api.cluster.podsOf('bench', workload).filter((p) => p.readyAt <= Date.now() && p.terminatingSince === undefined);
        const pod = pods[Math.floor(Math.random() * pods.length)];
        const cred = pod?.env[workload];
        if (!cred) {
          await sleep(5);
          continue;
        }
        attempted++;
        const client = new pg.Client({ host: f.host, port: f.port, database: 'bench', user: cred.username, password: cred.password });
        try {
          await client.connect();
          await client.query('select 1');
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === '28P01' || code === '28000') authFailures++;
          else otherFailures++;
          if (examples.length < 5) examples.push(`${pod!.name}: ${code ?? (err as Error).message}`);
        } finally {
          await client.end().catch(() => undefined);
        }
        await sleep(Math.random() * MAX_PAUSE_MS);
      }
    });
    const started = performance.now();
    const outcomes: string[] = [];
    await Promise.all(
      ids.map(async (id) => {
        for (let r = 0; r < ROUNDS; r++) outcomes.push(await rotate(id));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    running = false;
    await Promise.all(loops);

    const runs = await env.pool.query<{ promoted_at: Date; confirmed_at: Date | null; finished_at: Date | null }>(
      `select r.promoted_at, c.confirmed_at, r.finished_at from runs r join run_consumers c on c.run_id = r.id
        where r.secret_id like 'kz/%' and r.promoted_at is not null`,
    );
    const confirmed = runs.rows
      .filter((r) => r.confirmed_at)
      .map((r) => r.confirmed_at!.getTime() - r.promoted_at.getTime())
      .sort((a, b) => a - b);
    const rotated = outcomes.filter((o) => o === 'rotated').length;
    const ok = authFailures === 0 && otherFailures === 0 && rotated === outcomes.length;
    const out = [
      `Zero downtime, Kubernetes: ${SECRETS} secrets × ${ROUNDS} alternating-user rotations (grace ${GRACE_MS / 1000}s), each in a kubernetes store Secret read through envFrom by a fake Deployment of ${REPLICAS} replicas (pods ready 150 ms after start) that the kubernetes consumer restarts; ${SECRETS * REPLICAS} clients, each a new scram-sha-256 login + select 1 with the credential of a ready pod, after a pause of 0–${MAX_PAUSE_MS} ms`,
      table([
        {
          rotations: `${rotated}/${outcomes.length}`,
          'logins attempted': attempted,
          'failed authentications (target 0)': authFailures,
          'other failures': otherFailures,
          'promote → rollout confirmed p50/p95 ms': `${percentile(confirmed, 50).toFixed(0)} / ${percentile(confirmed, 95).toFixed(0)}`,
          'wall s': seconds.toFixed(1),
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
    if (examples.length) out.push('', 'failures, first few:', ...examples.map((e) => `  ${e}`));
    return { report: out.join('\n'), ok };
  } finally {
    for (const close of closers) await close().catch(() => undefined);
    await api.close();
    await env.stop();
  }
}
