// Opt-in: the kubernetes store contract and a real rolling restart against a real cluster (kind,
// k3s, minikube). Skipped unless ROTOR_TEST_KUBECONFIG names a kubeconfig; the namespace is
// ROTOR_TEST_K8S_NAMESPACE (default rotor-test), which must exist and allow the Role in
// docs/kubernetes.md plus create/delete of deployments and secrets. The Deployment runs
// registry.k8s.io/pause, so the cluster must be able to pull it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kubernetesDescriptor, { type KubernetesParams } from '../../../src/consumers/kubernetes/descriptor.js';
import { forgetKubernetesClients, kubernetesConsumer, RESTARTED_FOR } from '../../../src/consumers/kubernetes/index.js';
import { forgetKubeConfigs, kubeConfigFor } from '../../../src/kubernetes.js';
import { silentLogger } from '../../../src/log.js';
import { createKubernetesStore } from '../../../src/store/kubernetes/store.js';
import { storeContract } from '../../helpers/store-contract.js';

const KUBECONFIG = process.env.ROTOR_TEST_KUBECONFIG;
const NAMESPACE = process.env.ROTOR_TEST_K8S_NAMESPACE ?? 'rotor-test';
const created: { kind: 'secret' | 'deployment'; name: string }[] = [];

describe.skipIf(!KUBECONFIG)('kubernetes against a real cluster (ROTOR_TEST_KUBECONFIG)', () => {
  let kubeconfigBefore: string | undefined;
  beforeAll(() => {
    kubeconfigBefore = process.env.KUBECONFIG;
    process.env.KUBECONFIG = KUBECONFIG;
    forgetKubeConfigs();
    forgetKubernetesClients();
  });
  afterAll(async () => {
    const k8s = await import('@kubernetes/client-node');
    const kc = await kubeConfigFor({});
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    for (const o of created) {
      await (
        o.kind === 'secret'
          ? core.deleteNamespacedSecret({ name: o.name, namespace: NAMESPACE })
          : apps.deleteNamespacedDeployment({ name: o.name, namespace: NAMESPACE })
      ).catch(() => undefined);
    }
    if (kubeconfigBefore === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = kubeconfigBefore;
    forgetKubeConfigs();
    forgetKubernetesClients();
  });

  describe('the store contract', () => {
    storeContract({
      name: 'kubernetes (real cluster)',
      store: () => createKubernetesStore(),
      location: async () => {
        const name = `rotor-contract-${randomUUID().slice(0, 8)}`;
        created.push({ kind: 'secret', name });
        return `${NAMESPACE}/${name}`;
      },
    });
  });

  it('restarts a Deployment and confirms once its rollout completed', { timeout: 180_000 }, async () => {
    const k8s = await import('@kubernetes/client-node');
    const apps = (await kubeConfigFor({})).makeApiClient(k8s.AppsV1Api);
    const name = `rotor-restart-${randomUUID().slice(0, 8)}`;
    created.push({ kind: 'deployment', name });
    await apps.createNamespacedDeployment({
      namespace: NAMESPACE,
      body: {
        metadata: { name },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.9' }] } },
        },
      },
    });
    const params = kubernetesDescriptor.schema.parse({
      type: 'kubernetes',
      namespace: NAMESPACE,
      workloads: [{ kind: 'Deployment', name }],
    });
    delete (params as { type?: string }).type;
    const ctx = { params: params as KubernetesParams, resolveRef: async () => '', log: silentLogger, signal: new AbortController().signal };
    const runId = randomUUID();
    const notice = {
      secretId: 't',
      runId,
      versionId: `${runId}-1`,
      store: { backend: 'kubernetes', location: 'x/y' },
      revokeAfter: new Date(),
    };
    await kubernetesConsumer.notify(ctx, notice, undefined);
    let version: string | null = null;
    const deadline = Date.now() + 150_000;
    while (version === null && Date.now() < deadline) {
      version = await kubernetesConsumer.confirm(ctx, notice, undefined).catch((err: Error) => {
        if (!err.message.startsWith('rollout not complete')) throw err;
        return null;
      });
      if (version === null) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(version).toBe(notice.versionId);
    const d = await apps.readNamespacedDeployment({ name, namespace: NAMESPACE });
    expect(d.spec?.template.metadata?.annotations?.[RESTARTED_FOR]).toBe(notice.versionId);
    expect(d.status?.updatedReplicas).toBe(2);
  });
});
