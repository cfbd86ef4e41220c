// The kubernetes consumer against the fake API server, through the real @kubernetes/client-node:
// a rolling restart as `kubectl rollout restart` sends it, confirmed only once the rollout completed
// (Deployment, StatefulSet, DaemonSet; by name and by selector), new pods that cannot start and
// stalls that name the workload (CannotConfirmError: the engine rolls back at once), RBAC 403s that
// name what to grant, and wait-for-reload.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CannotConfirmError, type ConsumerContext, type ConsumerNotice } from '../../../src/consumers/contract.js';
import kubernetesDescriptor, { type KubernetesParams } from '../../../src/consumers/kubernetes/descriptor.js';
import { forgetKubernetesClients, kubernetesConsumer, RESTARTED_AT, RESTARTED_FOR } from '../../../src/consumers/kubernetes/index.js';
import type { RotorError } from '../../../src/errors.js';
import { forgetKubeConfigs } from '../../../src/kubernetes.js';
import { silentLogger } from '../../../src/log.js';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/k8s-fake/server.js';

let api: FakeApiServer;
let kubeconfigBefore: string | undefined;

beforeAll(async () => {
  api = await startFakeApiServer();
  kubeconfigBefore = process.env.KUBECONFIG;
  process.env.KUBECONFIG = api.kubeconfigPath;
  forgetKubeConfigs();
  forgetKubernetesClients();
});
afterAll(async () => {
  if (kubeconfigBefore === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = kubeconfigBefore;
  forgetKubeConfigs();
  forgetKubernetesClients();
  await api?.close();
});

function ctxOf(entry: Record<string, unknown>): ConsumerContext<KubernetesParams> {
  const parsed = kubernetesDescriptor.schema.parse({ type: 'kubernetes', ...entry }) as KubernetesParams & { type?: string };
  delete parsed.type;
  return { params: parsed, resolveRef: async () => '', log: silentLogger, signal: new AbortController().signal };
}

function notice(): ConsumerNotice {
  const runId = randomUUID();
  return {
    secretId: 'app/db',
    runId,
    versionId: `${runId}-1`,
    store: { backend: 'kubernetes', location: 'apps/db' },
    revokeAfter: new Date(),
  };
}

/** confirm until it answers a version, collecting what it said meanwhile; throws what a stall throws. */
async function confirmed(
  ctx: ConsumerContext<KubernetesParams>,
  n: ConsumerNotice,
  timeoutMs = 8_000,
  waits: string[] = [],
): Promise<{ version: string | null; waits: string[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return { version: await kubernetesConsumer.confirm(ctx, n, undefined), waits };
    } catch (err) {
      const message = (err as Error).message;
      if (!message.startsWith('rollout not complete')) throw err;
      waits.push(message);
    }
    if (Date.now() > deadline) throw new Error(`not confirmed: ${waits.at(-1)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ns = () => `ns-${randomUUID().slice(0, 8)}`;

describe('the kubernetes consumer', () => {
  it('restarts a Deployment as kubectl does and confirms only once every pod runs the new template', async () => {
    const namespace = ns();
    api.cluster.addWorkload('deployments', namespace, 'api', { replicas: 3 });
    await api.cluster.settled(namespace);
    const oldPods = api.cluster.podsOf(namespace, 'api').map((p) => p.name);
    const ctx = ctxOf({ namespace, workloads: [{ kind: 'Deployment', name: 'api' }] });
    const n = notice();
    await kubernetesConsumer.notify(ctx, n, undefined);
    expect(api.requests).toContain(`PATCH /apis/apps/v1/namespaces/${namespace}/deployments/api application/strategic-merge-patch+json`);
    const d = api.cluster.get('deployments', namespace, 'api')!;
    expect(d.metadata.generation).toBe(2);
    expect(d.spec.template.metadata.annotations[RESTARTED_FOR]).toBe(n.versionId);
    expect(Date.parse(d.spec.template.metadata.annotations[RESTARTED_AT])).toBeGreaterThan(Date.now() - 60_000);
    // Notify again (a worker restarted before recording it): no second restart.
    await kubernetesConsumer.notify(ctx, n, undefined);
    expect(api.cluster.get('deployments', namespace, 'api')!.metadata.generation).toBe(2);

    const { version, waits } = await confirmed(ctx, n);
    expect(version).toBe(n.versionId);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]).toContain(`Deployment ${namespace}/api`);
    // Confirmed means done: all new pods ready, none of the old template left.
    const pods = api.cluster.podsOf(namespace, 'api');
    expect(pods).toHaveLength(3);
    expect(pods.every((p) => p.annotations[RESTARTED_FOR] === n.versionId && p.readyAt <= Date.now())).toBe(true);
    expect(pods.some((p) => oldPods.includes(p.name))).toBe(false);
  });

  it('rolls out every workload a selector matches, StatefulSets and DaemonSets too', async () => {
    const namespace = ns();
    api.cluster.addWorkload('deployments', namespace, 'web', { replicas: 2, labels: { tier: 'front' } });
    api.cluster.addWorkload('deployments', namespace, 'admin', { replicas: 1, labels: { tier: 'front' } });
    api.cluster.addWorkload('deployments', namespace, 'batch', { replicas: 1, labels: { tier: 'back' } });
    api.cluster.addWorkload('statefulsets', namespace, 'queue', { replicas: 2 });
    api.cluster.addWorkload('daemonsets', namespace, 'agent');
    await api.cluster.settled(namespace);
    const ctx = ctxOf({
      namespace,
      workloads: [
        { kind: 'Deployment', selector: 'tier=front' },
        { kind: 'StatefulSet', name: 'queue' },
        { kind: 'DaemonSet', name: 'agent' },
      ],
    });
    const n = notice();
    await kubernetesConsumer.notify(ctx, n, undefined);
    expect((await confirmed(ctx, n)).version).toBe(n.versionId);
    for (const w of ['web', 'admin', 'queue', 'agent']) {
      expect(
        api.cluster.podsOf(namespace, w).every((p) => p.annotations[RESTARTED_FOR] === n.versionId),
        w,
      ).toBe(true);
    }
    expect(api.cluster.get('deployments', namespace, 'batch')!.metadata.generation).toBe(1);
    const sts = api.cluster.get('statefulsets', namespace, 'queue')!;
    expect(sts.status.currentRevision).toBe(sts.status.updateRevision);

    const none = ctxOf({ namespace, workloads: [{ kind: 'Deployment', selector: 'tier=nothing' }] });
    await expect(kubernetesConsumer.notify(none, notice(), undefined)).rejects.toThrow(
      `no Deployment in namespace ${namespace} matches the selector tier=nothing`,
    );
  });

  it('waits while a new pod crashed once, then cannot confirm once it crash-loops, naming the pod; the old pods keep serving', async () => {
    const namespace = ns();
    api.cluster.addWorkload('deployments', namespace, 'api', { replicas: 2 });
    await api.cluster.settled(namespace);
    const oldPods = api.cluster.podsOf(namespace, 'api').map((p) => p.name);
    api.cluster.stalled.set(`${namespace}/api`, 'crash-loop');
    // A restart every 400 ms: long enough to see the first one waited for.
    const pace = api.cluster.opts.crashLoopMs;
    api.cluster.opts.crashLoopMs = 400;
    try {
      const ctx = ctxOf({ namespace, workloads: [{ kind: 'Deployment', name: 'api' }] });
      const n = notice();
      await kubernetesConsumer.notify(ctx, n, undefined);
      const waits: string[] = [];
      const err = await confirmed(ctx, n, 8_000, waits).then(
        () => undefined,
        (e: unknown) => e as RotorError,
      );
      expect(err).toBeInstanceOf(CannotConfirmError);
      expect(err!.message).toMatch(
        new RegExp(
          `^Deployment ${namespace}/api: new pod api-\\S+ cannot start \\(container app CrashLoopBackOff: back-off .*, 2 restarts\\)$`,
        ),
      );
      expect(err!.hint).toMatch(/kubectl -n \S+ describe pod api-/);
      // One crash was a wait, not a verdict.
      expect(waits.some((w) => /new pod api-\S+ is not starting yet \(container app CrashLoopBackOff: .*, 1 restart\)/.test(w))).toBe(true);
    } finally {
      api.cluster.opts.crashLoopMs = pace;
    }
    const live = api.cluster.podsOf(namespace, 'api').filter((p) => p.terminatingSince === undefined);
    expect(live.filter((p) => oldPods.includes(p.name) && p.readyAt <= Date.now())).toHaveLength(2);
  });

  it.each([
    ['image-pull', /container app (ErrImagePull|ImagePullBackOff): .*example\/app:1/],
    ['bad-image', /container app InvalidImageName: .*invalid reference format/],
    ['config-error', /container app CreateContainerConfigError: couldn't find key password in Secret/],
  ] as const)('cannot confirm at once when a new pod cannot start (%s), naming the pod and the reason', async (stall, reason) => {
    const namespace = ns();
    api.cluster.addWorkload('deployments', namespace, 'api', { replicas: 2 });
    await api.cluster.settled(namespace);
    api.cluster.stalled.set(`${namespace}/api`, stall);
    const ctx = ctxOf({ namespace, workloads: [{ kind: 'Deployment', name: 'api' }] });
    const n = notice();
    await kubernetesConsumer.notify(ctx, n, undefined);
    const started = Date.now();
    const err = await confirmed(ctx, n).then(
      () => undefined,
      (e: unknown) => e as RotorError,
    );
    expect(err).toBeInstanceOf(CannotConfirmError);
    expect(err!.message).toMatch(new RegExp(`^Deployment ${namespace}/api: new pod api-\\S+ cannot start \\(`));
    expect(err!.message).toMatch(reason);
    expect(err!.message).toMatch(/, 0 restarts\)$/);
    // As soon as the new pod reported it, not after a deadline.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('fails the confirmation on ProgressDeadlineExceeded', async () => {
    const namespace = ns();
    api.cluster.addWorkload('deployments', namespace, 'slow', { replicas: 2, progressDeadlineSeconds: 1 });
    await api.cluster.settled(namespace);
    api.cluster.stalled.set(`${namespace}/slow`, 'unready');
    const ctx = ctxOf({ namespace, workloads: [{ kind: 'Deployment', name: 'slow' }] });
    const n = notice();
    await kubernetesConsumer.notify(ctx, n, undefined);
    await expect(confirmed(ctx, n)).rejects.toThrow(`Deployment ${namespace}/slow: the rollout stalled (ProgressDeadlineExceeded`);
  });

  it('names the verb, resource and namespace to grant on an RBAC 403', async () => {
    const namespace = ns();
    api.cluster.addWorkload('deployments', namespace, 'api', { replicas: 1 });
    api.deny('patch', 'deployments', namespace);
    try {
      const err = await kubernetesConsumer
        .notify(ctxOf({ namespace, workloads: [{ kind: 'Deployment', name: 'api' }] }), notice(), undefined)
        .then(
          () => undefined,
          (e: unknown) => e as RotorError,
        );
      expect(err!.message).toContain(`Kubernetes denied patch deployments.apps/api in namespace ${namespace} (HTTP 403)`);
      expect(err!.message).toContain('cannot patch resource "deployments" in API group "apps"');
      expect(err!.hint).toContain(`"patch" on resource "deployments" (apiGroups: ["apps"]) in namespace ${namespace}`);
    } finally {
      api.allowAll();
    }
  });

  it('wait-for-reload: restarts nothing and confirms once every pod reports the version', async () => {
    const namespace = ns();
    api.cluster.addWorkload('deployments', namespace, 'reloader', { replicas: 2 });
    await api.cluster.settled(namespace);
    const ctx = ctxOf({ namespace, mode: 'wait-for-reload', workloads: [{ kind: 'Deployment', name: 'reloader' }] });
    const n = notice();
    await kubernetesConsumer.notify(ctx, n, undefined);
    expect(api.cluster.get('deployments', namespace, 'reloader')!.metadata.generation).toBe(1);
    const [a, b] = api.cluster.podsOf(namespace, 'reloader');
    api.cluster.annotatePod(namespace, a!.name, { 'rotor.dev/version': n.versionId });
    await expect(kubernetesConsumer.confirm(ctx, n, undefined)).rejects.toThrow('1 of 2 pods do not report version');
    api.cluster.annotatePod(namespace, b!.name, { 'rotor.dev/version': n.versionId });
    expect(await kubernetesConsumer.confirm(ctx, n, undefined)).toBe(n.versionId);
  });

  it('validates entries: one of name and selector, known kinds', () => {
    const bad = (w: unknown) => kubernetesDescriptor.schema.safeParse({ type: 'kubernetes', namespace: 'a', workloads: [w] }).success;
    expect(bad({ kind: 'Deployment', name: 'x', selector: 'a=b' })).toBe(false);
    expect(bad({ kind: 'Deployment' })).toBe(false);
    expect(bad({ kind: 'CronJob', name: 'x' })).toBe(false);
    expect(bad({ kind: 'StatefulSet', name: 'x' })).toBe(true);
  });
});
