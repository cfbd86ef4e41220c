// The kubernetes consumer: tells workloads about a new version the way Kubernetes does, and takes
// the confirmation from the platform itself.
//
// `restart` (the default) patches the pod template the way `kubectl rollout restart` does
// (annotation kubectl.kubernetes.io/restartedAt, strategic merge patch), adding
// rotor.dev/restarted-for = the version, so a repeated notify (a worker restarted in between) does
// not restart twice, and the pods of the new template can be told from the old ones. confirm
// answers the version only once the rollout completed: the controller observed the new generation,
// updated, ready and available replicas equal the desired count, and no pod of an older template is
// left (terminating ones count: they may still serve with the old credential). A rollout that
// cannot finish (ProgressDeadlineExceeded; a new pod whose image cannot be pulled, whose config
// names what is not there, or that crashed again after its restarts) is a CannotConfirmError naming
// the workload and the pod: the engine rolls back at once rather than at the consumer's
// confirmTimeout, and the old pods, which the rolling update keeps while the new ones are not
// available, go on working.
//
// `wait-for-reload` restarts nothing: it confirms once every pod of the workloads is ready and
// carries the version in its annotation (rotor.dev/version unless `annotation` says otherwise),
// which an application that reloads the mounted Secret on its own sets on its pod.
import type { AppsV1Api, CoreV1Api, V1DaemonSet, V1Deployment, V1LabelSelector, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { RotorError } from '../../errors.js';
import { kubeConfigFor, kubeError, type KubeCall } from '../../kubernetes.js';
import { CannotConfirmError, implementConsumer, type ConsumerContext, type ConsumerNotice } from '../contract.js';
import descriptor, { type KubernetesParams } from './descriptor.js';

export type { KubernetesParams } from './descriptor.js';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
export const RESTARTED_FOR = 'rotor.dev/restarted-for';
export const DEFAULT_VERSION_ANNOTATION = 'rotor.dev/version';

type Kind = 'Deployment' | 'StatefulSet' | 'DaemonSet';
type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

const RESOURCE: Record<Kind, string> = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' };

/** Waiting reasons of a new pod's container that mean it will not start as the template stands. */
const CANNOT_START = new Set(['ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError']);
/**
 * CrashLoopBackOff after this many restarts: the container crashed again after being restarted,
 * not once on the way up (a dependency not ready yet); with fewer it is still waited for.
 */
const CRASH_LOOP_RESTARTS = 2;
/** Waiting reasons that may pass (a first crash, a container runtime hiccup): said, and waited for. */
// ErrImagePull is the first failed pull (a registry's 429 clears up); ImagePullBackOff follows it
// when the kubelet gave up retrying at once, and that one is final.
const NOT_STARTING = new Set(['CrashLoopBackOff', 'ErrImagePull', 'CreateContainerError', 'RunContainerError']);
/** Their kubelet message can quote the container's command line after $(VAR) expansion: not kept. */
const MESSAGE_WITHHELD = new Set(['CreateContainerError', 'RunContainerError']);

interface Clients {
  apps: AppsV1Api;
  core: CoreV1Api;
  patchOptions: unknown;
}

const clients = new Map<string, Promise<Clients>>();

function clientsFor(params: KubernetesParams): Promise<Clients> {
  const key = params.context ?? '';
  let p = clients.get(key);
  if (!p) {
    p = (async () => {
      const k8s = await import('@kubernetes/client-node');
      const kc = await kubeConfigFor({ context: params.context });
      return {
        apps: kc.makeApiClient(k8s.AppsV1Api),
        core: kc.makeApiClient(k8s.CoreV1Api),
        // kubectl rollout restart sends a strategic merge patch; client-node's default is a JSON patch.
        patchOptions: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      };
    })();
    clients.set(key, p);
    p.catch(() => clients.delete(key));
  }
  return p;
}

/** Drops cached clients (tests that point KUBECONFIG at a new fake API server). */
export function forgetKubernetesClients(): void {
  clients.clear();
}

interface Target {
  kind: Kind;
  name: string;
  object: Workload;
}

const label = (ns: string, t: { kind: string; name: string }) => `${t.kind} ${ns}/${t.name}`;

async function call<T>(what: KubeCall, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw kubeError(err, what);
  }
}

async function readOne(c: Clients, ns: string, kind: Kind, name: string): Promise<Workload> {
  const what: KubeCall = { verb: 'get', resource: RESOURCE[kind], group: 'apps', namespace: ns, name };
  return call(what, () =>
    kind === 'Deployment'
      ? c.apps.readNamespacedDeployment({ name, namespace: ns })
      : kind === 'StatefulSet'
        ? c.apps.readNamespacedStatefulSet({ name, namespace: ns })
        : c.apps.readNamespacedDaemonSet({ name, namespace: ns }),
  );
}

async function listByLabels(c: Clients, ns: string, kind: Kind, labelSelector: string): Promise<Workload[]> {
  const what: KubeCall = { verb: 'list', resource: RESOURCE[kind], group: 'apps', namespace: ns };
  const list = await call(what, () =>
    kind === 'Deployment'
      ? c.apps.listNamespacedDeployment({ namespace: ns, labelSelector })
      : kind === 'StatefulSet'
        ? c.apps.listNamespacedStatefulSet({ namespace: ns, labelSelector })
        : c.apps.listNamespacedDaemonSet({ namespace: ns, labelSelector }),
  );
  return list.items as Workload[];
}

/** The workloads the entry names, read now; a selector that matches nothing is an error (a typo would confirm vacuously). */
async function targets(ctx: ConsumerContext<KubernetesParams>, c: Clients): Promise<Target[]> {
  const ns = ctx.params.namespace;
  const found: Target[] = [];
  for (const w of ctx.params.workloads) {
    if (w.name !== undefined) {
      found.push({ kind: w.kind, name: w.name, object: await readOne(c, ns, w.kind, w.name) });
      continue;
    }
    const items = await listByLabels(c, ns, w.kind, w.selector!);
    if (!items.length) {
      throw new RotorError(`no ${w.kind} in namespace ${ns} matches the selector ${w.selector}`, {
        hint: `check the selector (kubectl get ${RESOURCE[w.kind]} -n ${ns} -l '${w.selector}')`,
      });
    }
    for (const o of items) found.push({ kind: w.kind, name: o.metadata!.name!, object: o });
  }
  return found;
}

async function restart(ctx: ConsumerContext<KubernetesParams>, c: Clients, t: Target, versionId: string): Promise<void> {
  const ns = ctx.params.namespace;
  if (t.object.spec?.template.metadata?.annotations?.[RESTARTED_FOR] === versionId) return;
  if (t.kind === 'StatefulSet' && (t.object as V1StatefulSet).spec?.updateStrategy?.type === 'OnDelete') {
    throw new RotorError(`${label(ns, t)} uses updateStrategy OnDelete: a restart would never roll out`, {
      hint: 'use updateStrategy RollingUpdate, or mode: wait-for-reload with an application that reloads the Secret itself',
    });
  }
  const body = {
    spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date().toISOString(), [RESTARTED_FOR]: versionId } } } },
  };
  const what: KubeCall = { verb: 'patch', resource: RESOURCE[t.kind], group: 'apps', namespace: ns, name: t.name };
  const opts = c.patchOptions as Parameters<AppsV1Api['patchNamespacedDeployment']>[1];
  await call(what, () =>
    t.kind === 'Deployment'
      ? c.apps.patchNamespacedDeployment({ name: t.name, namespace: ns, body, fieldManager: 'rotor' }, opts)
      : t.kind === 'StatefulSet'
        ? c.apps.patchNamespacedStatefulSet({ name: t.name, namespace: ns, body, fieldManager: 'rotor' }, opts)
        : c.apps.patchNamespacedDaemonSet({ name: t.name, namespace: ns, body, fieldManager: 'rotor' }, opts),
  );
  ctx.log.info({ workload: label(ns, t), version: versionId }, 'rolling restart triggered');
}

function selectorString(sel: V1LabelSelector | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

async function podsOf(ctx: ConsumerContext<KubernetesParams>, c: Clients, t: Target): Promise<V1Pod[]> {
  const ns = ctx.params.namespace;
  const labelSelector = selectorString(t.object.spec?.selector);
  const list = await call({ verb: 'list', resource: 'pods', namespace: ns }, () =>
    c.core.listNamespacedPod({ namespace: ns, labelSelector }),
  );
  // Only the pods this workload controls: another workload's selector may overlap.
  const uid = t.object.metadata?.uid;
  return list.items.filter((p) => {
    const owner = p.metadata?.ownerReferences?.find((o) => o.controller);
    if (!owner) return false;
    if (t.kind === 'Deployment') return owner.kind === 'ReplicaSet' && owner.name.startsWith(`${t.name}-`);
    return owner.kind === t.kind && (owner.name === t.name || (uid !== undefined && owner.uid === uid));
  });
}

function isReady(p: V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * Why a pod of the new template is not starting (`status.containerStatuses[].state.waiting`, init
 * containers first), and whether that is final: `final` when it will not start as it stands.
 */
function notStarting(p: V1Pod): { why: string; final: boolean } | undefined {
  let found: { why: string; final: boolean } | undefined;
  for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
    const waiting = s.state?.waiting;
    const reason = waiting?.reason;
    if (!reason || !(CANNOT_START.has(reason) || NOT_STARTING.has(reason))) continue;
    const restarts = s.restartCount ?? 0;
    const message = waiting.message && !MESSAGE_WITHHELD.has(reason) ? `: ${waiting.message.slice(0, 300)}` : '';
    const final = CANNOT_START.has(reason) || (reason === 'CrashLoopBackOff' && restarts >= CRASH_LOOP_RESTARTS);
    // The first final reason wins over any container that may still start.
    if (!found || (final && !found.final))
      found = { why: `container ${s.name} ${reason}${message}, ${restarts} ${restarts === 1 ? 'restart' : 'restarts'}`, final };
  }
  return found;
}

/** Not-done reason of the controller's own status, or undefined when it reports the rollout complete. */
function controllerPending(t: Target, ns: string): string | undefined {
  const o = t.object;
  const generation = o.metadata?.generation ?? 0;
  const observed = o.status?.observedGeneration ?? 0;
  if (observed < generation) return `waiting for the controller to observe generation ${generation}`;
  if (t.kind === 'Deployment') {
    const d = o as V1Deployment;
    const s = d.status ?? {};
    const stalled = s.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
    if (stalled) {
      // The controller's own verdict that this rollout will not finish: the engine rolls back at once.
      throw new CannotConfirmError(`${label(ns, t)}: the rollout stalled (ProgressDeadlineExceeded: ${stalled.message ?? 'no progress'})`, {
        hint: `kubectl -n ${ns} rollout status deployment/${t.name}; kubectl -n ${ns} describe deployment ${t.name}`,
      });
    }
    const want = d.spec?.replicas ?? 1;
    if ((s.updatedReplicas ?? 0) < want) return `${s.updatedReplicas ?? 0} of ${want} replicas updated`;
    if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0))
      return `${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old replicas pending termination`;
    if ((s.readyReplicas ?? 0) < want || (s.availableReplicas ?? 0) < want)
      return `${s.availableReplicas ?? 0} of ${want} updated replicas available`;
    return undefined;
  }
  if (t.kind === 'StatefulSet') {
    const st = o as V1StatefulSet;
    const s = st.status;
    const want = st.spec?.replicas ?? 1;
    if ((s?.updatedReplicas ?? 0) < want) return `${s?.updatedReplicas ?? 0} of ${want} pods updated`;
    if ((s?.readyReplicas ?? 0) < want || (s?.availableReplicas ?? 0) < want)
      return `${s?.availableReplicas ?? 0} of ${want} pods available`;
    if (s?.updateRevision && s.currentRevision !== s.updateRevision) return `waiting for revision ${s.updateRevision}`;
    return undefined;
  }
  const s = (o as V1DaemonSet).status;
  const want = s?.desiredNumberScheduled ?? 0;
  if ((s?.updatedNumberScheduled ?? 0) < want) return `${s?.updatedNumberScheduled ?? 0} of ${want} pods updated`;
  if ((s?.numberAvailable ?? 0) < want) return `${s?.numberAvailable ?? 0} of ${want} updated pods available`;
  return undefined;
}

/** Whether `t` rolled out the template restarted for `versionId`: null when done, else what it waits for. */
async function rolloutPending(ctx: ConsumerContext<KubernetesParams>, c: Clients, t: Target, versionId: string): Promise<string | null> {
  const ns = ctx.params.namespace;
  const pods = await podsOf(ctx, c, t);
  const fresh = pods.filter((p) => p.metadata?.annotations?.[RESTARTED_FOR] === versionId);
  let starting: string | undefined;
  for (const p of fresh) {
    const problem = notStarting(p);
    if (!problem) continue;
    const pod = p.metadata?.name ?? '?';
    if (problem.final) {
      // The new pods will not start as the template stands: the engine rolls back now, not at confirmTimeout.
      throw new CannotConfirmError(`${label(ns, t)}: new pod ${pod} cannot start (${problem.why})`, {
        hint: `kubectl -n ${ns} describe pod ${pod}; kubectl -n ${ns} logs ${pod} --previous; the old pods keep running until the new ones are ready`,
      });
    }
    starting ??= `new pod ${pod} is not starting yet (${problem.why})`;
  }
  const pending = controllerPending(t, ns);
  if (pending) return starting ? `${pending}; ${starting}` : pending;
  if (starting) return starting;
  const old = pods.length - fresh.length;
  if (old > 0) return `${old} pods of the previous template still present`;
  return null;
}

async function reloadPending(ctx: ConsumerContext<KubernetesParams>, c: Clients, t: Target, versionId: string): Promise<string | null> {
  const key = ctx.params.annotation ?? DEFAULT_VERSION_ANNOTATION;
  const pods = (await podsOf(ctx, c, t)).filter((p) => !p.metadata?.deletionTimestamp);
  if (!pods.length) return 'no running pods';
  const behind = pods.filter((p) => p.metadata?.annotations?.[key] !== versionId || !isReady(p));
  return behind.length ? `${behind.length} of ${pods.length} pods do not report version ${versionId} in ${key}` : null;
}

export const kubernetesConsumer = implementConsumer<KubernetesParams>(descriptor, {
  async notify(ctx, notice: ConsumerNotice) {
    const c = await clientsFor(ctx.params);
    const found = await targets(ctx, c);
    // wait-for-reload: the kubelet refreshes the mounted Secret and the application reloads on its own.
    if (ctx.params.mode === 'wait-for-reload') return;
    for (const t of found) await restart(ctx, c, t, notice.versionId);
  },

  async confirm(ctx, notice) {
    const c = await clientsFor(ctx.params);
    const ns = ctx.params.namespace;
    const waiting: string[] = [];
    for (const t of await targets(ctx, c)) {
      let pending: string | null;
      if (ctx.params.mode === 'wait-for-reload') pending = await reloadPending(ctx, c, t, notice.versionId);
      else if (t.object.spec?.template.metadata?.annotations?.[RESTARTED_FOR] !== notice.versionId) {
        // A selector that now matches one more workload, or a template someone replaced: restart it (idempotent).
        await restart(ctx, c, t, notice.versionId);
        pending = 'rolling restart triggered';
      } else pending = await rolloutPending(ctx, c, t, notice.versionId);
      if (pending) waiting.push(`${label(ns, t)}: ${pending}`);
    }
    if (!waiting.length) return notice.versionId;
    ctx.log.debug({ waiting }, 'rollout not complete');
    // The engine records a thrown error as the consumer's state: say what is still rolling out.
    throw new RotorError(`rollout not complete: ${waiting.join('; ')}`, { hint: 'rotor checks again until the consumer’s confirmTimeout' });
  },
});
