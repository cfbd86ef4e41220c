// The state of the fake Kubernetes API server: stored objects with resourceVersion and generation,
// and a controller loop that rolls workloads out the way the real controllers do, one pod at a
// time, writing the status fields they write (observedGeneration, updated/ready/available replicas,
// conditions). Pods capture the Secret keys their template reads (envFrom/env secretKeyRef) when
// they start, like real containers: a running pod sees a new Secret value only once restarted.
import { createHash } from 'node:crypto';

export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type WorkloadKind = 'deployments' | 'statefulsets' | 'daemonsets';
export const WORKLOAD_KINDS: Record<WorkloadKind, string> = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
};

/** A Kubernetes API error, answered as a Status object. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
  status(): Obj {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code,
    };
  }
}

export interface FakePod {
  name: string;
  namespace: string;
  workload: string;
  kind: WorkloadKind;
  templateHash: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  createdAt: number;
  /** When it turns ready; Infinity for a pod that never does (a stalled workload's). */
  readyAt: number;
  /** Why it never turns ready (the workload's entry in `stalled` when the pod started). */
  stall: Stall | undefined;
  restarts: number;
  terminatingSince: number | undefined;
  /** The Secret keys it read at start, by Secret name (decoded). */
  env: Record<string, Record<string, string>>;
}

/**
 * Why a stalled workload's new pods never become ready, as the kubelet reports it in
 * `status.containerStatuses[].state.waiting` (pod phase Running for the first two, Pending for the
 * others, whose container never started):
 * - `crash-loop`: the container runs, exits 1, is restarted after a back-off: `CrashLoopBackOff`
 *   between runs, `restartCount` counting up (one restart per `crashLoopMs`);
 * - `unready`: running, its readiness probe failing;
 * - `image-pull`: the image cannot be pulled: `ErrImagePull`, then `ImagePullBackOff`;
 * - `bad-image`: the image reference does not parse: `InvalidImageName`;
 * - `config-error`: the container's config names a Secret key that is not there: `CreateContainerConfigError`.
 */
export type Stall = 'crash-loop' | 'unready' | 'image-pull' | 'bad-image' | 'config-error';

export interface ClusterOptions {
  /** How long a new pod takes to become ready. @defaultValue 40 */
  podReadyMs?: number;
  /** How long a crash-looping container runs, or waits in back-off, before its next restart. @defaultValue 50 */
  crashLoopMs?: number;
  /** How long a terminating pod lingers. @defaultValue 20 */
  terminationMs?: number;
  /** Nodes a DaemonSet runs on. @defaultValue 2 */
  nodes?: number;
}

const now = () => Date.now();

/** The pod-template-hash the deployment controller derives from the template. */
export function templateHash(template: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(template ?? {}))
    .digest('hex')
    .slice(0, 10);
}

export function matchesSelector(labels: Record<string, string>, selector: string | null): boolean {
  if (!selector) return true;
  // Requirements are comma separated, but `in (a,b)` holds commas too.
  const parts = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return parts.every((raw) => {
    const req = raw.trim();
    if (!req) return true;
    let m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(req);
    if (m) {
      const values = m[3]!.split(',').map((v) => v.trim());
      const has = m[1]! in labels && values.includes(labels[m[1]!]!);
      return m[2] === 'in' ? has : !has;
    }
    m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(req);
    if (m) return m[2] === '!=' ? labels[m[1]!] !== m[3] : labels[m[1]!] === m[3];
    if (req.startsWith('!')) return !(req.slice(1) in labels);
    return req in labels;
  });
}

/** A label selector object as a query string (matchLabels and matchExpressions). */
export function selectorString(sel: Obj | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${e.values.join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${e.values.join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export class FakeCluster {
  readonly objects = new Map<string, Obj>();
  readonly pods = new Map<string, FakePod>();
  private rv = 1000;
  private podSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Workloads (`<ns>/<name>`) whose new pods never become ready, and why (Stall). */
  readonly stalled = new Map<string, Stall>();
  /** Called between a write's read of the stored object and its resourceVersion check (tests' concurrent writers). */
  beforeWrite: ((resource: string, namespace: string, name: string) => void) | undefined;
  readonly opts: Required<ClusterOptions>;

  constructor(opts: ClusterOptions = {}) {
    this.opts = { podReadyMs: 40, crashLoopMs: 50, terminationMs: 20, nodes: 2, ...opts };
  }

  start(tickMs = 10): void {
    this.timer ??= setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private key(resource: string, namespace: string, name: string): string {
    return `${resource}/${namespace}/${name}`;
  }

  nextResourceVersion(): string {
    return String(++this.rv);
  }

  get(resource: string, namespace: string, name: string): Obj | undefined {
    const o = this.objects.get(this.key(resource, namespace, name));
    return o ? structuredClone(o) : undefined;
  }

  list(resource: string, namespace: string): Obj[] {
    const prefix = `${resource}/${namespace}/`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([, o]) => structuredClone(o));
  }

  /** Stores `obj` as new (POST semantics). */
  create(resource: string, kind: string, namespace: string, obj: Obj): Obj {
    const name = obj.metadata?.name;
    if (!name) throw new ApiError(422, 'Invalid', `${kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (this.objects.has(this.key(resource, namespace, name))) {
      throw new ApiError(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource });
    }
    const stored: Obj = {
      ...obj,
      metadata: {
        ...obj.metadata,
        namespace,
        uid: `uid-${this.rv + 1}`,
        resourceVersion: this.nextResourceVersion(),
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        generation: 1,
      },
    };
    delete stored.metadata.deletionTimestamp;
    if (kind === 'Deployment' || kind === 'StatefulSet' || kind === 'DaemonSet') stored.status = {};
    this.objects.set(this.key(resource, namespace, name), stored);
    return structuredClone(stored);
  }

  /**
   * Replaces the stored object (PUT semantics, and the end of every PATCH): a resourceVersion in
   * the body that is not the stored one is a 409 Conflict, the optimistic concurrency of the API.
   */
  replace(resource: string, namespace: string, name: string, obj: Obj, opts: { status?: boolean } = {}): Obj {
    const k = this.key(resource, namespace, name);
    const before = this.objects.get(k);
    if (!before) throw new ApiError(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
    this.beforeWrite?.(resource, namespace, name);
    const current = this.objects.get(k)!;
    const sent = obj.metadata?.resourceVersion;
    if (sent !== undefined && sent !== '' && sent !== current.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, kind: resource },
      );
    }
    if (obj.metadata?.name && obj.metadata.name !== name) {
      throw new ApiError(400, 'BadRequest', `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    const next: Obj = structuredClone(obj);
    // Server-owned fields survive a write; status only through the status subresource (or the controller).
    next.metadata = {
      ...next.metadata,
      name,
      namespace,
      uid: current.metadata.uid,
      creationTimestamp: current.metadata.creationTimestamp,
      generation: current.metadata.generation,
    };
    if (current.status !== undefined && !opts.status) next.status = current.status;
    if (JSON.stringify(next.spec) !== JSON.stringify(current.spec) && current.spec !== undefined) next.metadata.generation += 1;
    const unchanged =
      JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: undefined } }) ===
      JSON.stringify({ ...current, metadata: { ...current.metadata, resourceVersion: undefined } });
    next.metadata.resourceVersion = unchanged ? current.metadata.resourceVersion : this.nextResourceVersion();
    this.objects.set(k, next);
    return structuredClone(next);
  }

  delete(resource: string, namespace: string, name: string): Obj {
    const k = this.key(resource, namespace, name);
    const o = this.objects.get(k);
    if (!o) throw new ApiError(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
    this.objects.delete(k);
    return o;
  }

  // --- workloads ------------------------------------------------------------------------------

  /** Creates a Deployment (or StatefulSet, DaemonSet) whose pods read `secret` through envFrom, and waits for nothing: its pods start on the next ticks. */
  addWorkload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    opts: { replicas?: number; labels?: Record<string, string>; secret?: string; progressDeadlineSeconds?: number } = {},
  ): Obj {
    const labels = { app: name, ...(opts.labels ?? {}) };
    const spec: Obj = {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'app', image: 'example/app:1', ...(opts.secret ? { envFrom: [{ secretRef: { name: opts.secret } }] } : {}) },
          ],
        },
      },
    };
    if (kind !== 'daemonsets') spec.replicas = opts.replicas ?? 2;
    if (kind === 'deployments') {
      spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
      spec.progressDeadlineSeconds = opts.progressDeadlineSeconds ?? 600;
    } else spec.updateStrategy = { type: 'RollingUpdate' };
    const apiVersion = 'apps/v1';
    return this.create(kind, WORKLOAD_KINDS[kind], namespace, {
      apiVersion,
      kind: WORKLOAD_KINDS[kind],
      metadata: { name, namespace, labels },
      spec,
    });
  }

  podsOf(namespace: string, workload: string): FakePod[] {
    return [...this.pods.values()].filter((p) => p.namespace === namespace && p.workload === workload);
  }

  private desired(kind: WorkloadKind, w: Obj): number {
    return kind === 'daemonsets' ? this.opts.nodes : (w.spec.replicas ?? 1);
  }

  /** One pass of the controllers over every workload. */
  tick(): void {
    const t = now();
    for (const [k, p] of this.pods) {
      if (p.terminatingSince !== undefined && t - p.terminatingSince >= this.opts.terminationMs) this.pods.delete(k);
      if (p.stall === 'crash-loop' && p.terminatingSince === undefined) p.restarts = Math.floor((t - p.createdAt) / this.opts.crashLoopMs);
    }
    for (const [key, w] of this.objects) {
      const kind = key.split('/')[0] as WorkloadKind;
      if (!(kind in WORKLOAD_KINDS)) continue;
      this.reconcile(kind, w, t);
    }
  }

  private newPod(kind: WorkloadKind, w: Obj, hash: string, t: number): void {
    const ns = w.metadata.namespace as string;
    const template = w.spec.template;
    const stall = this.stalled.get(`${ns}/${w.metadata.name}`);
    const env: FakePod['env'] = {};
    for (const c of template.spec?.containers ?? []) {
      for (const from of c.envFrom ?? []) {
        const ref = from.secretRef?.name;
        const s = ref ? this.objects.get(this.key('secrets', ns, ref)) : undefined;
        if (s)
          env[ref] = Object.fromEntries(
            Object.entries(s.data ?? {}).map(([dk, v]) => [dk, Buffer.from(String(v), 'base64').toString('utf8')]),
          );
      }
    }
    const suffix = kind === 'statefulsets' ? String(this.podSeq++) : `${hash.slice(0, 5)}-${(this.podSeq++).toString(36)}`;
    const name = `${w.metadata.name}-${suffix}`;
    this.pods.set(`${ns}/${name}`, {
      name,
      namespace: ns,
      workload: w.metadata.name,
      kind,
      templateHash: hash,
      labels: {
        ...(template.metadata?.labels ?? {}),
        ...(kind === 'deployments' ? { 'pod-template-hash': hash } : { 'controller-revision-hash': `${w.metadata.name}-${hash}` }),
      },
      annotations: { ...(template.metadata?.annotations ?? {}) },
      createdAt: t,
      readyAt: stall ? Infinity : t + this.opts.podReadyMs,
      stall,
      restarts: 0,
      terminatingSince: undefined,
      env,
    });
  }

  private reconcile(kind: WorkloadKind, w: Obj, t: number): void {
    const ns = w.metadata.namespace as string;
    const name = w.metadata.name as string;
    const hash = templateHash(w.spec.template);
    const desired = this.desired(kind, w);
    const live = this.podsOf(ns, name).filter((p) => p.terminatingSince === undefined);
    const fresh = live.filter((p) => p.templateHash === hash);
    const old = live.filter((p) => p.templateHash !== hash);
    const ready = (p: FakePod) => p.readyAt <= t;
    const status: Obj = (w.status ??= {});
    const progressedBefore = status.__progressAt as number | undefined;
    let progressed = false;

    if (kind === 'deployments') {
      // RollingUpdate with maxSurge 25% (rounded up) and maxUnavailable 25% (rounded down), as the defaults.
      const surge = Math.max(1, Math.ceil(desired * 0.25));
      const unavailable = Math.floor(desired * 0.25);
      if (fresh.length < desired && live.length < desired + surge) {
        this.newPod(kind, w, hash, t);
        progressed = true;
      }
      // Old pods go one per pass: unready ones first (they serve nothing), a ready one only while
      // enough others stay ready.
      const readyLive = live.filter(ready).length;
      const victim = old.find((p) => !ready(p)) ?? (readyLive - 1 >= desired - unavailable ? old.find(ready) : undefined);
      if (victim) {
        victim.terminatingSince = t;
        progressed = true;
      }
      // Scale down surplus fresh pods (replicas lowered).
      for (const p of fresh.slice(desired)) p.terminatingSince = t;
    } else {
      // StatefulSets and DaemonSets replace one pod at a time: delete an old one, start its successor once it is gone.
      const present = this.podsOf(ns, name);
      const terminating = present.some((p) => p.terminatingSince !== undefined);
      if (!terminating) {
        if (live.length < desired) {
          this.newPod(kind, w, hash, t);
          progressed = true;
        } else if (old.length && live.every(ready)) {
          old[old.length - 1]!.terminatingSince = t;
          progressed = true;
        }
      }
    }

    const now2 = this.podsOf(ns, name);
    const counted = now2.filter((p) => p.terminatingSince === undefined);
    const updated = counted.filter((p) => p.templateHash === hash);
    const readyPods = counted.filter(ready);
    const generation = w.metadata.generation as number;
    if (progressed || progressedBefore === undefined) status.__progressAt = t;
    const stalledFor = t - (status.__progressAt as number);
    const complete = updated.length === desired && counted.length === desired && readyPods.length === desired;
    let next: Obj;
    if (kind === 'deployments') {
      const deadline = (w.spec.progressDeadlineSeconds ?? 600) * 1000;
      const exceeded = !complete && stalledFor > deadline;
      next = {
        observedGeneration: generation,
        replicas: counted.length,
        updatedReplicas: updated.length,
        readyReplicas: readyPods.length,
        availableReplicas: readyPods.length,
        unavailableReplicas: Math.max(0, desired - readyPods.length),
        conditions: [
          {
            type: 'Available',
            status: readyPods.length >= desired - Math.floor(desired * 0.25) ? 'True' : 'False',
            reason: readyPods.length >= desired - Math.floor(desired * 0.25) ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          },
          exceeded
            ? {
                type: 'Progressing',
                status: 'False',
                reason: 'ProgressDeadlineExceeded',
                message: `ReplicaSet "${name}-${hash}" has timed out progressing.`,
              }
            : complete
              ? {
                  type: 'Progressing',
                  status: 'True',
                  reason: 'NewReplicaSetAvailable',
                  message: `ReplicaSet "${name}-${hash}" has successfully progressed.`,
                }
              : {
                  type: 'Progressing',
                  status: 'True',
                  reason: 'ReplicaSetUpdated',
                  message: `ReplicaSet "${name}-${hash}" is progressing.`,
                },
        ],
      };
      this.syncReplicaSets(w, hash);
    } else if (kind === 'statefulsets') {
      next = {
        observedGeneration: generation,
        replicas: counted.length,
        readyReplicas: readyPods.length,
        availableReplicas: readyPods.length,
        currentReplicas: complete ? counted.length : counted.length - updated.length,
        updatedReplicas: updated.length,
        currentRevision: complete ? `${name}-${hash}` : (status.currentRevision ?? `${name}-${hash}`),
        updateRevision: `${name}-${hash}`,
      };
    } else {
      next = {
        observedGeneration: generation,
        desiredNumberScheduled: desired,
        currentNumberScheduled: counted.length,
        numberReady: readyPods.length,
        numberAvailable: readyPods.length,
        numberUnavailable: Math.max(0, desired - readyPods.length),
        updatedNumberScheduled: updated.length,
        numberMisscheduled: 0,
      };
    }
    const { __progressAt } = status;
    const changed = JSON.stringify(next) !== JSON.stringify({ ...status, __progressAt: undefined });
    w.status = { ...next, __progressAt };
    if (changed) w.metadata.resourceVersion = this.nextResourceVersion();
  }

  /** The Deployment's ReplicaSets, one per template it ever had, with the replica counts of their pods. */
  private syncReplicaSets(w: Obj, hash: string): void {
    const ns = w.metadata.namespace as string;
    const name = `${w.metadata.name}-${hash}`;
    const k = this.key('replicasets', ns, name);
    const pods = this.podsOf(ns, w.metadata.name).filter((p) => p.terminatingSince === undefined);
    if (!this.objects.has(k)) {
      const revisions = this.list('replicasets', ns).filter((rs) => rs.metadata.ownerReferences?.[0]?.name === w.metadata.name).length;
      this.objects.set(k, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name,
          namespace: ns,
          labels: { ...w.spec.template.metadata?.labels, 'pod-template-hash': hash },
          annotations: { 'deployment.kubernetes.io/revision': String(revisions + 1) },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: w.metadata.name, uid: w.metadata.uid, controller: true }],
          resourceVersion: this.nextResourceVersion(),
          generation: 1,
        },
        spec: {
          replicas: w.spec.replicas,
          selector: { matchLabels: { ...w.spec.selector.matchLabels, 'pod-template-hash': hash } },
          template: w.spec.template,
        },
        status: {},
      });
    }
    for (const rs of this.list('replicasets', ns)) {
      if (rs.metadata.ownerReferences?.[0]?.name !== w.metadata.name) continue;
      const h = rs.metadata.labels['pod-template-hash'];
      const mine = pods.filter((p) => p.templateHash === h);
      const stored = this.objects.get(this.key('replicasets', ns, rs.metadata.name))!;
      stored.spec.replicas = h === hash ? w.spec.replicas : mine.length;
      stored.status = { replicas: mine.length, readyReplicas: mine.filter((p) => p.readyAt <= now()).length, observedGeneration: 1 };
    }
  }

  /** A pod as the API returns it. */
  podObject(p: FakePod): Obj {
    const t = now();
    const ready = p.readyAt <= t;
    const owner =
      p.kind === 'deployments'
        ? { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${p.workload}-${p.templateHash}`, controller: true }
        : { apiVersion: 'apps/v1', kind: WORKLOAD_KINDS[p.kind], name: p.workload, controller: true };
    const started = p.stall !== 'image-pull' && p.stall !== 'bad-image' && p.stall !== 'config-error';
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        namespace: p.namespace,
        labels: p.labels,
        annotations: p.annotations,
        ownerReferences: [owner],
        creationTimestamp: new Date(p.createdAt).toISOString(),
        ...(p.terminatingSince !== undefined ? { deletionTimestamp: new Date(p.terminatingSince).toISOString() } : {}),
      },
      spec: { containers: [{ name: 'app', image: 'example/app:1' }] },
      status: {
        phase: started ? 'Running' : 'Pending',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        containerStatuses: [
          {
            name: 'app',
            ready,
            restartCount: p.restarts,
            image: 'example/app:1',
            imageID: '',
            started: ready,
            state: this.containerState(p, ready, t),
            ...(p.stall === 'crash-loop' && p.restarts > 0 ? { lastState: { terminated: { exitCode: 1, reason: 'Error' } } } : {}),
          },
        ],
      },
    };
  }

  /** `containerStatuses[].state` as the kubelet reports it: waiting (with its reason), or running. */
  private containerState(p: FakePod, ready: boolean, t: number): Obj {
    const running = { running: { startedAt: new Date(p.createdAt).toISOString() } };
    switch (p.stall) {
      case 'crash-loop':
        // Up until its first exit; from then on in back-off between runs.
        return p.restarts === 0
          ? running
          : {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: `back-off 10s restarting failed container=app pod=${p.name}_${p.namespace}(uid-${p.name})`,
              },
            };
      case 'image-pull':
        return t - p.createdAt < this.opts.crashLoopMs
          ? {
              waiting: {
                reason: 'ErrImagePull',
                message: 'failed to pull and unpack image "docker.io/example/app:1": not found',
              },
            }
          : { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "example/app:1"' } };
      case 'bad-image':
        return {
          waiting: { reason: 'InvalidImageName', message: 'Failed to apply default image tag "example/App:1": invalid reference format' },
        };
      case 'config-error':
        return { waiting: { reason: 'CreateContainerConfigError', message: `couldn't find key password in Secret ${p.namespace}/app` } };
      default:
        return ready || p.readyAt === Infinity ? running : { waiting: { reason: 'ContainerCreating' } };
    }
  }

  /** Sets an annotation on a pod (what an application that reloads on its own does to report its version). */
  annotatePod(namespace: string, name: string, annotations: Record<string, string>): void {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) throw new ApiError(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
    Object.assign(p.annotations, annotations);
  }

  /** Waits until every workload of `namespace` runs its current template on ready pods only (tests' setup). */
  async settled(namespace: string, timeoutMs = 5_000): Promise<void> {
    const deadline = now() + timeoutMs;
    for (;;) {
      let done = true;
      for (const [key, w] of this.objects) {
        const kind = key.split('/')[0] as WorkloadKind;
        if (!(kind in WORKLOAD_KINDS) || w.metadata.namespace !== namespace) continue;
        const hash = templateHash(w.spec.template);
        const pods = this.podsOf(w.metadata.namespace, w.metadata.name);
        if (pods.length !== this.desired(kind, w) || pods.some((p) => p.templateHash !== hash || p.readyAt > now())) done = false;
      }
      if (done) return;
      if (now() > deadline) throw new Error('fake cluster: workloads did not settle');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
