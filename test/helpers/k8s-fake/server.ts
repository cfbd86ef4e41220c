// A fake Kubernetes API server over HTTPS on 127.0.0.1, for the real @kubernetes/client-node: the
// REST paths of core/v1 Secrets and Pods and apps/v1 Deployments, StatefulSets, DaemonSets and
// ReplicaSets; Status objects with the API's codes and reasons (404 NotFound, 409 Conflict and
// AlreadyExists, 403 Forbidden with RBAC's wording, 401, 415, 422); the three patch content types
// clients send (json-patch, merge-patch, strategic-merge-patch). HTTPS because the client refuses
// to send a bearer token in the clear: the certificate is a throw-away self-signed one made with
// openssl and trusted through the kubeconfig's certificate-authority-data.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, FakeCluster, matchesSelector, WORKLOAD_KINDS, type ClusterOptions, type Obj } from './cluster.js';

export { FakeCluster, ApiError, templateHash, type FakePod, type WorkloadKind } from './cluster.js';

export const FAKE_TOKEN = 'fake-token-rotor';
export const FAKE_USER = 'system:serviceaccount:rotor:rotor';

export interface FakeApiServer {
  url: string;
  cluster: FakeCluster;
  /** A kubeconfig file (context `fake`, plus `fake-other` naming the same server) the real client can load. */
  kubeconfigPath: string;
  /** Requests received: `VERB path` (with the patch content type for PATCH). */
  requests: string[];
  /** RBAC: verbs denied per `<resource>` or `<resource>/<namespace>`, e.g. deny('patch', 'deployments', 'apps'). */
  deny(verb: string, resource: string, namespace?: string): void;
  allowAll(): void;
  close(): Promise<void>;
}

let certCache: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1 (made once per process). */
function certificate(): { key: string; cert: string } {
  if (certCache) return certCache;
  const dir = mkdtempSync(join(tmpdir(), 'k8s-fake-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=fake-kube-apiserver',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    certCache = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    return certCache;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Route = { group: 'core' | 'apps'; namespace: string; resource: string; name?: string; sub?: string };

function parsePath(path: string): Route | null {
  const m = /^\/(api\/v1|apis\/apps\/v1)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/(status|scale))?$/.exec(path);
  if (!m) return null;
  return { group: m[1] === 'api/v1' ? 'core' : 'apps', namespace: m[2]!, resource: m[3]!, name: m[4], sub: m[5] };
}

const CORE = new Set(['secrets', 'pods']);
const APPS = new Set(['deployments', 'statefulsets', 'daemonsets', 'replicasets']);
const KIND: Record<string, string> = { secrets: 'Secret', pods: 'Pod', replicasets: 'ReplicaSet', ...WORKLOAD_KINDS };

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Obj = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Obj) } : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Strategic merge patch, for what rotor and kubectl send (maps merge; `$patch`/merge-key lists are beyond this fake). */
function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (patch && typeof patch === 'object' && !Array.isArray(patch)) {
    for (const k of Object.keys(patch as Obj)) {
      if (k.startsWith('$') || k.startsWith('$setElementOrder'))
        throw new ApiError(422, 'Invalid', `this fake does not implement strategic merge directive ${k}`);
    }
  }
  return mergePatch(target, patch);
}

/** RFC 6902 JSON patch (add, remove, replace, test). */
function jsonPatch(target: Obj, ops: unknown): Obj {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const doc = structuredClone(target);
  for (const op of ops as Obj[]) {
    const parts = String(op.path)
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let parent: Obj = doc as Obj;
    for (const p of parts) {
      if (parent[p] === undefined) {
        if (op.op === 'add') parent[p] = {};
        else throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: missing path ${op.path}`);
      }
      parent = parent[p] as Obj;
    }
    if (op.op === 'add' || op.op === 'replace') {
      if (op.op === 'replace' && !(last in parent))
        throw new ApiError(422, 'Invalid', `replace operation does not apply: doc is missing key: ${op.path}`);
      if (Array.isArray(parent) && last === '-') (parent as unknown[]).push(op.value);
      else (parent as Obj)[last] = op.value;
    } else if (op.op === 'remove') {
      if (!(last in parent)) throw new ApiError(422, 'Invalid', `remove operation does not apply: doc is missing path: ${op.path}`);
      delete parent[last];
    } else if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw new ApiError(422, 'Invalid', `testing value ${op.path} failed`);
    } else throw new ApiError(422, 'Invalid', `unsupported json patch operation ${String(op.op)}`);
  }
  return doc;
}

const VERB_OF: Record<string, string> = { GET: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

export async function startFakeApiServer(opts: ClusterOptions = {}): Promise<FakeApiServer> {
  const cluster = new FakeCluster(opts);
  cluster.start();
  const requests: string[] = [];
  const denied = new Set<string>();
  const { key, cert } = certificate();

  function handle(req: IncomingMessage, body: string): { status: number; body: Obj } {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    requests.push(`${method} ${url.pathname}${method === 'PATCH' ? ` ${contentType}` : ''}`);
    if (req.headers.authorization !== `Bearer ${FAKE_TOKEN}`) {
      throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    }
    const route = parsePath(url.pathname);
    if (!route || !(route.group === 'core' ? CORE : APPS).has(route.resource)) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const { namespace, resource, name } = route;
    const verb = name ? VERB_OF[method] : method === 'GET' ? 'list' : VERB_OF[method];
    if (!verb) throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    const group = route.group === 'core' ? '' : 'apps';
    if (denied.has(`${verb} ${resource}`) || denied.has(`${verb} ${resource}/${namespace}`)) {
      const target = name ? `${resource} "${name}"` : resource;
      throw new ApiError(
        403,
        'Forbidden',
        `${target} is forbidden: User "${FAKE_USER}" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${namespace}"`,
        { name, kind: resource },
      );
    }
    const parse = (): Obj => {
      try {
        return JSON.parse(body) as Obj;
      } catch {
        throw new ApiError(400, 'BadRequest', 'the request body is not valid JSON');
      }
    };
    const kind = KIND[resource]!;

    if (resource === 'pods') {
      if (method !== 'GET') throw new ApiError(405, 'MethodNotAllowed', 'this fake serves pods read-only');
      const pods = [...cluster.pods.values()].filter((p) => p.namespace === namespace);
      if (name) {
        const p = pods.find((x) => x.name === name);
        if (!p) throw new ApiError(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
        return { status: 200, body: cluster.podObject(p) };
      }
      const selector = url.searchParams.get('labelSelector');
      const items = pods.filter((p) => matchesSelector(p.labels, selector)).map((p) => cluster.podObject(p));
      return {
        status: 200,
        body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: cluster.nextResourceVersion() }, items },
      };
    }

    const apiVersion = route.group === 'core' ? 'v1' : 'apps/v1';
    const strip = (o: Obj): Obj => {
      const { __progressAt: _, ...status } = o.status ?? {};
      return o.status === undefined ? o : { ...o, status };
    };
    if (!name) {
      if (method === 'GET') {
        const selector = url.searchParams.get('labelSelector');
        const items = cluster
          .list(resource, namespace)
          .filter((o) => matchesSelector(o.metadata.labels ?? {}, selector))
          .map(strip);
        return {
          status: 200,
          body: { kind: `${kind}List`, apiVersion, metadata: { resourceVersion: cluster.nextResourceVersion() }, items },
        };
      }
      if (method === 'POST') {
        if (contentType !== 'application/json')
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json`,
          );
        const obj = parse();
        if (obj.metadata?.namespace && obj.metadata.namespace !== namespace) {
          throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
        }
        if (resource === 'secrets') validateSecret(obj);
        return { status: 201, body: strip(cluster.create(resource, kind, namespace, { ...obj, apiVersion, kind })) };
      }
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }

    const current = cluster.get(resource, namespace, name);
    if (method === 'GET') {
      if (!current) throw new ApiError(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
      return { status: 200, body: strip(current) };
    }
    if (method === 'DELETE') {
      cluster.delete(resource, namespace, name);
      return { status: 200, body: { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, kind: resource } } };
    }
    if (!current) throw new ApiError(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
    let next: Obj;
    if (method === 'PUT') {
      if (contentType !== 'application/json')
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          'the body of the request was in an unknown format - accepted media types include: application/json',
        );
      next = { ...parse(), apiVersion, kind };
    } else if (method === 'PATCH') {
      const patch = parse();
      if (contentType === 'application/json-patch+json') next = jsonPatch(current, patch);
      else if (contentType === 'application/merge-patch+json') next = mergePatch(current, patch) as Obj;
      else if (contentType === 'application/strategic-merge-patch+json') next = strategicMergePatch(current, patch) as Obj;
      else {
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json',
        );
      }
      // A patch without a resourceVersion applies to whatever is stored; with one, it must match.
      if (!(patch as Obj)?.metadata?.resourceVersion && !Array.isArray(patch))
        next.metadata.resourceVersion = current.metadata.resourceVersion;
    } else throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    if (resource === 'secrets') validateSecret(next);
    return { status: 200, body: strip(cluster.replace(resource, namespace, name, next, { status: route.sub === 'status' })) };
  }

  const server: Server = createServer({ key, cert }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let out: { status: number; body: Obj };
      try {
        out = handle(req, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `fake: ${(err as Error).message}`);
        out = { status: e.code, body: e.status() };
      }
      res.writeHead(out.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;

  const dir = mkdtempSync(join(tmpdir(), 'k8s-fake-'));
  const kubeconfigPath = join(dir, 'kubeconfig.json');
  const ca = Buffer.from(cert).toString('base64');
  writeFileSync(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: url, 'certificate-authority-data': ca } }],
      users: [{ name: 'rotor', user: { token: FAKE_TOKEN } }],
      contexts: [
        { name: 'fake', context: { cluster: 'fake', user: 'rotor', namespace: 'default' } },
        { name: 'fake-other', context: { cluster: 'fake', user: 'rotor', namespace: 'default' } },
      ],
      'current-context': 'fake',
    }),
    { mode: 0o600 },
  );

  return {
    url,
    cluster,
    kubeconfigPath,
    requests,
    deny: (verb, resource, namespace) => void denied.add(namespace ? `${verb} ${resource}/${namespace}` : `${verb} ${resource}`),
    allowAll: () => denied.clear(),
    close: async () => {
      cluster.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the API server validates on a Secret: base64 values under valid keys. */
function validateSecret(obj: Obj): void {
  for (const [k, v] of Object.entries(obj.data ?? {})) {
    if (!/^[-._a-zA-Z0-9]+$/.test(k)) {
      throw new ApiError(
        422,
        'Invalid',
        `Secret "${obj.metadata?.name}" is invalid: data[${k}]: Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
      );
    }
    if (typeof v !== 'string' || Buffer.from(v, 'base64').toString('base64') !== v) {
      throw new ApiError(400, 'BadRequest', `illegal base64 data in Secret data key ${k}`);
    }
  }
  const size = Object.values(obj.data ?? {}).reduce((n: number, v) => n + Buffer.from(String(v), 'base64').length, 0);
  if (size > 1024 * 1024)
    throw new ApiError(422, 'Invalid', `Secret "${obj.metadata?.name}" is invalid: data: Too long: must have at most 1048576 bytes`);
}
