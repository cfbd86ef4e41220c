// The kubernetes store against the fake API server, through the real @kubernetes/client-node over
// HTTPS: the store contract, then what is Kubernetes' own: a concurrent edit between read and write
// is a 409 that rotor re-applies on top of (never a lost write), keys rotor does not own are kept,
// `previous-*` keys, labels and annotations, and an RBAC 403 that names what to grant.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/errors.js';
import { forgetKubeConfigs } from '../../../src/kubernetes.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createKubernetesStore } from '../../../src/store/kubernetes/store.js';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/k8s-fake/server.js';
import { storeContract } from '../../helpers/store-contract.js';

let api: FakeApiServer;
let kubeconfigBefore: string | undefined;

beforeAll(async () => {
  api = await startFakeApiServer();
  kubeconfigBefore = process.env.KUBECONFIG;
  process.env.KUBECONFIG = api.kubeconfigPath;
  forgetKubeConfigs();
});
afterAll(async () => {
  if (kubeconfigBefore === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = kubeconfigBefore;
  forgetKubeConfigs();
  await api?.close();
});

const decoded = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const vid = (tag: string) => `${randomUUID()}-${tag}`;

describe('the kubernetes store (fake API server) keeps the contract', () => {
  storeContract({
    name: 'kubernetes',
    store: () => createKubernetesStore(),
    // A Secret that does not exist yet: the store creates it on the first write.
    location: async () => `contract/s-${randomUUID()}`,
  });
});

describe('the kubernetes store', () => {
  let store: SecretStore;
  beforeAll(() => void (store = createKubernetesStore()));

  it('writes CURRENT as the keys applications read, keeps foreign keys, previous-* keys on request, and records run and version', async () => {
    const name = `app-${randomUUID().slice(0, 8)}`;
    api.cluster.create('secrets', 'Secret', 'apps', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, labels: { team: 'payments' } },
      data: { 'ca.crt': Buffer.from('CERT').toString('base64') },
    });
    const loc = `apps/${name}?previous=1`;
    const [v1, v2] = [`${randomUUID()}-1`, `${randomUUID()}-1`];
    await store.putPending(loc, v1, { username: 'app_a', password: 'pw-one', port: 5432 });
    // Staged only: applications still read nothing of rotor's.
    expect(decoded(api.cluster.get('secrets', 'apps', name)!.data).password).toBeUndefined();
    await store.promote(loc, v1);
    await store.putPending(loc, v2, { username: 'app_b', password: 'pw-two', port: 5432 });
    await store.promote(loc, v2);
    const s = api.cluster.get('secrets', 'apps', name)!;
    const data = decoded(s.data);
    expect(data).toMatchObject({ 'ca.crt': 'CERT', username: 'app_b', password: 'pw-two', port: '5432' });
    expect(data).toMatchObject({ 'previous-username': 'app_a', 'previous-password': 'pw-one' });
    expect(s.metadata.labels).toEqual({ team: 'payments', 'app.kubernetes.io/managed-by': 'rotor' });
    expect(s.metadata.annotations).toMatchObject({ 'rotor.dev/version': v2, 'rotor.dev/run': v2.slice(0, -2) });
    expect(JSON.stringify(s.metadata)).not.toContain('pw-');
    await store.clearPrevious(loc);
    const after = decoded(api.cluster.get('secrets', 'apps', name)!.data);
    expect(after['previous-password']).toBeUndefined();
    expect(after.password).toBe('pw-two');
    // The client sent real writes: a create-free PUT with the resourceVersion it read.
    expect(api.requests).toContain(`PUT /api/v1/namespaces/apps/secrets/${name}`);
  });

  it('re-applies its change on a 409 from a concurrent edit, keeping that edit (never a lost write)', async () => {
    const name = `race-${randomUUID().slice(0, 8)}`;
    const loc = `apps/${name}`;
    const base = vid('1');
    await store.putPending(loc, base, { password: 'pw-base' });
    await store.promote(loc, base);
    let edits = 0;
    // Another writer updates the Secret between rotor's read and its write, twice.
    const hook = (resource: string, ns: string, n: string) => {
      if (resource !== 'secrets' || n !== name || edits >= 2) return;
      edits++;
      const cur = api.cluster.get('secrets', ns, n)!;
      api.cluster.beforeWrite = undefined;
      api.cluster.replace('secrets', ns, n, {
        ...cur,
        data: { ...cur.data, [`other-${edits}`]: Buffer.from(`x${edits}`).toString('base64') },
      });
      api.cluster.beforeWrite = hook;
    };
    api.cluster.beforeWrite = hook;
    const conflictsBefore = api.requests.length;
    try {
      const next = vid('1');
      await store.putPending(loc, next, { password: 'pw-next' });
      await store.promote(loc, next);
      const data = decoded(api.cluster.get('secrets', 'apps', name)!.data);
      expect(edits).toBe(2);
      expect(data).toMatchObject({ 'other-1': 'x1', 'other-2': 'x2', password: 'pw-next' });
      expect((await store.get(loc, 'PREVIOUS'))?.versionId).toBe(base);
      // Each conflicting PUT was followed by a fresh GET and another PUT.
      const puts = api.requests.slice(conflictsBefore).filter((r) => r.startsWith('PUT')).length;
      expect(puts).toBe(4);
    } finally {
      api.cluster.beforeWrite = undefined;
    }
  });

  it('names the verb, resource and namespace to grant on an RBAC 403, and writes nothing', async () => {
    api.deny('update', 'secrets', 'locked');
    api.cluster.create('secrets', 'Secret', 'locked', { metadata: { name: 'db' }, data: {} });
    try {
      const err = await store.putPending('locked/db', vid('1'), { password: 'pw-denied' }).then(
        () => undefined,
        (e: unknown) => e as PermanentError,
      );
      expect(err).toBeInstanceOf(PermanentError);
      expect(err!.message).toContain('Kubernetes denied update secrets/db in namespace locked (HTTP 403)');
      expect(err!.hint).toContain('"update" on resource "secrets"');
      expect(err!.hint).toContain('namespace locked');
      expect(`${err!.message} ${err!.hint}`).not.toContain('pw-denied');
      expect(api.cluster.get('secrets', 'locked', 'db')!.data).toEqual({});
    } finally {
      api.allowAll();
    }
  });

  it('uses the context the location names, and refuses one the kubeconfig lacks', async () => {
    const name = `ctx-${randomUUID().slice(0, 8)}`;
    const v = vid('1');
    await store.putPending(`apps/${name}?context=fake-other`, v, { password: 'pw-ctx' });
    expect((await store.get(`apps/${name}`, 'PENDING'))?.versionId).toBe(v);
    await expect(store.describe(`apps/${name}?context=nope`)).rejects.toThrow('has no context nope');
  });
});
