// A stateful fake of HashiCorp Vault's KV version 2 secrets engine and its token, AppRole and
// Kubernetes logins, over real HTTP on loopback: rotor's own client talks to it as to Vault. It
// follows the documented API: versions with created/deletion times and max_versions, metadata with
// current_version and custom_metadata (at most 64 keys, 128-byte keys, 512-byte values), PATCH of
// metadata as a JSON merge patch (null removes a key), soft delete, check-and-set (options.cas: 0
// writes only when the secret has no version, N only when N is the newest; otherwise 400 "check-and-
// set parameter did not match the current version"), and tokens with path ACLs (403 "permission
// denied"). `beforeNextWrite` runs a concurrent writer between a client's read and its write.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface KvVersion {
  data: Record<string, unknown> | null;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface KvSecret {
  current_version: number;
  oldest_version: number;
  created_time: string;
  updated_time: string;
  cas_required: boolean;
  max_versions: number;
  custom_metadata: Record<string, string>;
  versions: Record<number, KvVersion>;
}

/** A policy rule: paths starting with `prefix` (after /v1/) get these capabilities. */
export interface AclRule {
  prefix: string;
  capabilities: Array<'read' | 'create' | 'update' | 'patch' | 'delete' | 'list'>;
}

export interface VaultRequestLog {
  method: string;
  path: string;
  status: number;
  cas?: number | undefined;
}

const FULL: AclRule[] = [{ prefix: '', capabilities: ['read', 'create', 'update', 'patch', 'delete', 'list'] }];

export class FakeVault {
  readonly rootToken = `hvs.${randomUUID()}`;
  /** KV mounts by name: secrets by path. */
  readonly mounts = new Map<string, Map<string, KvSecret>>([['secret', new Map()]]);
  readonly requests: VaultRequestLog[] = [];
  private readonly tokens = new Map<string, { rules: AclRule[]; expiresAt: number }>([
    [this.rootToken, { rules: FULL, expiresAt: Infinity }],
  ]);
  private readonly approles = new Map<string, { secretId: string; rules: AclRule[]; ttl: number }>();
  private readonly k8sRoles = new Map<string, { jwt: string; rules: AclRule[] }>();
  private readonly hooks: Array<() => void> = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A token limited to `rules`. */
  token(rules: AclRule[], ttlMs = Infinity): string {
    const t = `hvs.${randomUUID()}`;
    this.tokens.set(t, { rules, expiresAt: Date.now() + ttlMs });
    return t;
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  addAppRole(roleId: string, secretId: string, rules: AclRule[] = FULL, ttlSeconds = 3600): void {
    this.approles.set(roleId, { secretId, rules, ttl: ttlSeconds });
  }

  addKubernetesRole(role: string, jwt: string, rules: AclRule[] = FULL): void {
    this.k8sRoles.set(role, { jwt, rules });
  }

  /** Runs `fn` just before the next KV data write is checked and applied. */
  beforeNextWrite(fn: () => void): void {
    this.hooks.push(fn);
  }

  secret(mount: string, path: string): KvSecret | undefined {
    return this.mounts.get(mount)?.get(path);
  }

  /** Writes as another client would (no CAS): a new newest version. */
  write(mount: string, path: string, data: Record<string, unknown>): number {
    return this.put(mount, path, data);
  }

  /** The newest version's data, as an application reading the secret gets it. */
  latest(mount: string, path: string): Record<string, unknown> | null {
    const s = this.secret(mount, path);
    const v = s?.versions[s.current_version];
    return v && !v.deletion_time && !v.destroyed ? v.data : null;
  }

  private put(mount: string, path: string, data: Record<string, unknown>): number {
    const secrets = this.mounts.get(mount)!;
    const now = new Date().toISOString();
    let s = secrets.get(path);
    if (!s) {
      s = {
        current_version: 0,
        oldest_version: 0,
        created_time: now,
        updated_time: now,
        cas_required: false,
        max_versions: 0,
        custom_metadata: {},
        versions: {},
      };
      secrets.set(path, s);
    }
    const n = s.current_version + 1;
    s.versions[n] = { data, created_time: now, deletion_time: '', destroyed: false };
    s.current_version = n;
    s.updated_time = now;
    // max_versions 0 means the mount's default, 10: the oldest versions are removed for good.
    const keep = s.max_versions || 10;
    for (const k of Object.keys(s.versions)
      .map(Number)
      .sort((a, b) => a - b)) {
      if (Object.keys(s.versions).length <= keep) break;
      delete s.versions[k];
    }
    s.oldest_version = Math.min(...Object.keys(s.versions).map(Number));
    return n;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ''));
    let body: Record<string, unknown> = {};
    try {
      body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return this.answer(res, req, path, 400, { errors: ['failed to parse JSON input'] });
    }
    const [status, out] = this.route(req, url, path, body);
    this.answer(
      res,
      req,
      path,
      status,
      out,
      typeof (body.options as { cas?: unknown } | undefined)?.cas === 'number' ? (body.options as { cas: number }).cas : undefined,
    );
  }

  private answer(res: ServerResponse, req: IncomingMessage, path: string, status: number, out: unknown, cas?: number): void {
    this.requests.push({ method: req.method ?? '', path, status, cas });
    res.writeHead(status, out === null ? {} : { 'content-type': 'application/json' });
    res.end(out === null ? undefined : JSON.stringify(out));
  }

  private route(req: IncomingMessage, url: URL, path: string, body: Record<string, unknown>): [number, unknown] {
    const method = req.method ?? 'GET';
    const login = /^auth\/([^/]+)\/login$/.exec(path);
    if (login && method === 'POST') return this.login(login[1]!, body);

    const token = this.tokens.get(String(req.headers['x-vault-token'] ?? ''));
    if (!token || token.expiresAt < Date.now()) return [403, { errors: ['permission denied'] }];
    const m = /^([^/]+)\/(data|metadata|delete|undelete)\/(.+)$/.exec(path);
    const secrets = m ? this.mounts.get(m[1]!) : undefined;
    if (!m || !secrets) return [404, { errors: [`no handler for route "${path}". route entry not found.`] }];
    const [, mount, kind, key] = m as unknown as [string, string, string, string];
    const s = secrets.get(key);
    const capability =
      method === 'GET'
        ? 'read'
        : method === 'PATCH'
          ? 'patch'
          : kind === 'data' || kind === 'metadata'
            ? s
              ? 'update'
              : 'create'
            : 'update';
    const allowed = token.rules.some((r) => path.startsWith(r.prefix) && r.capabilities.includes(capability));
    if (!allowed) return [403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] }];

    if (kind === 'data' && method === 'GET') {
      if (!s) return [404, { errors: [] }];
      const n = Number(url.searchParams.get('version') ?? 0) || s.current_version;
      const v = s.versions[n];
      if (!v) return [404, { errors: [] }];
      const metadata = {
        created_time: v.created_time,
        custom_metadata: meta(s),
        deletion_time: v.deletion_time,
        destroyed: v.destroyed,
        version: n,
      };
      if (v.deletion_time || v.destroyed) return [404, { data: { data: null, metadata } }];
      return [200, { data: { data: v.data, metadata } }];
    }
    if (kind === 'data' && (method === 'POST' || method === 'PUT')) {
      for (const hook of this.hooks.splice(0)) hook();
      const current = this.secret(mount, key);
      const cas = (body.options as { cas?: unknown } | undefined)?.cas;
      if (cas === undefined && current?.cas_required) return [400, { errors: ['check-and-set parameter required for this call'] }];
      if (typeof cas === 'number' && cas !== (current?.current_version ?? 0)) {
        return [400, { errors: ['check-and-set parameter did not match the current version'] }];
      }
      if (!body.data || typeof body.data !== 'object') return [400, { errors: ['no data provided'] }];
      const n = this.put(mount, key, body.data as Record<string, unknown>);
      const v = this.secret(mount, key)!.versions[n]!;
      return [
        200,
        {
          data: {
            created_time: v.created_time,
            custom_metadata: meta(this.secret(mount, key)!),
            deletion_time: '',
            destroyed: false,
            version: n,
          },
        },
      ];
    }
    if (kind === 'metadata' && method === 'GET') {
      if (!s) return [404, { errors: [] }];
      return [
        200,
        {
          data: {
            cas_required: s.cas_required,
            created_time: s.created_time,
            current_version: s.current_version,
            custom_metadata: meta(s),
            delete_version_after: '0s',
            max_versions: s.max_versions,
            oldest_version: s.oldest_version,
            updated_time: s.updated_time,
            versions:
              s.versions &&
              Object.fromEntries(
                Object.entries(s.versions).map(([n, v]) => [
                  n,
                  { created_time: v.created_time, deletion_time: v.deletion_time, destroyed: v.destroyed },
                ]),
              ),
          },
        },
      ];
    }
    if (kind === 'metadata' && method === 'PATCH') {
      if (req.headers['content-type'] !== 'application/merge-patch+json')
        return [415, { errors: ['PATCH requires Content-Type application/merge-patch+json'] }];
      if (!s) return [404, { errors: [] }];
      const next = { ...s.custom_metadata };
      for (const [k, v] of Object.entries((body.custom_metadata as Record<string, string | null> | undefined) ?? {})) {
        if (v === null) delete next[k];
        else next[k] = v;
      }
      const problem = checkCustom(next);
      if (problem) return [400, { errors: [problem] }];
      s.custom_metadata = next;
      return [204, null];
    }
    if (kind === 'metadata' && method === 'POST') {
      const target = s ?? this.emptySecret(mount, key);
      if (body.custom_metadata !== undefined) {
        const next = (body.custom_metadata as Record<string, string>) ?? {};
        const problem = checkCustom(next);
        if (problem) return [400, { errors: [problem] }];
        target.custom_metadata = { ...next };
      }
      if (typeof body.cas_required === 'boolean') target.cas_required = body.cas_required;
      if (typeof body.max_versions === 'number') target.max_versions = body.max_versions;
      return [204, null];
    }
    if ((kind === 'delete' || kind === 'undelete') && method === 'POST') {
      if (!s) return [204, null];
      for (const n of (body.versions as number[] | undefined) ?? [s.current_version]) {
        const v = s.versions[n];
        if (v && !v.destroyed) v.deletion_time = kind === 'delete' ? new Date().toISOString() : '';
      }
      return [204, null];
    }
    return [405, { errors: ['unsupported operation'] }];
  }

  private emptySecret(mount: string, key: string): KvSecret {
    const now = new Date().toISOString();
    const s: KvSecret = {
      current_version: 0,
      oldest_version: 0,
      created_time: now,
      updated_time: now,
      cas_required: false,
      max_versions: 0,
      custom_metadata: {},
      versions: {},
    };
    this.mounts.get(mount)!.set(key, s);
    return s;
  }

  private login(mount: string, body: Record<string, unknown>): [number, unknown] {
    const issue = (rules: AclRule[], ttl: number): [number, unknown] => {
      const client_token = this.token(rules, ttl * 1000);
      return [200, { auth: { client_token, accessor: randomUUID(), policies: ['rotor'], lease_duration: ttl, renewable: true } }];
    };
    if (mount.startsWith('approle')) {
      const role = this.approles.get(String(body.role_id ?? ''));
      if (!role || role.secretId !== body.secret_id) return [400, { errors: ['invalid role or secret ID'] }];
      return issue(role.rules, role.ttl);
    }
    if (mount.startsWith('kubernetes')) {
      const role = this.k8sRoles.get(String(body.role ?? ''));
      if (!role) return [400, { errors: [`invalid role name "${String(body.role)}"`] }];
      if (role.jwt !== body.jwt) return [403, { errors: ['permission denied'] }];
      return issue(role.rules, 3600);
    }
    return [400, { errors: [`no auth method at auth/${mount}`] }];
  }
}

/** custom_metadata as Vault returns it: null when empty. */
function meta(s: KvSecret): Record<string, string> | null {
  return Object.keys(s.custom_metadata).length ? { ...s.custom_metadata } : null;
}

function checkCustom(c: Record<string, string>): string | undefined {
  if (Object.keys(c).length > 64) return 'custom_metadata can only have up to 64 keys';
  for (const [k, v] of Object.entries(c)) {
    if (Buffer.byteLength(k) > 128) return `custom_metadata key too long, given ${Buffer.byteLength(k)} bytes, max 128 bytes`;
    if (typeof v !== 'string' || Buffer.byteLength(v) > 512) return `custom_metadata value too long or not a string, max 512 bytes`;
  }
  return undefined;
}
