// The applications of the chaos run: one client per secret that holds a credential, logs in to the
// target with it in a loop (overlap secrets), and switches when told (POST /notice) by reading
// CURRENT from the store. It reports a version (GET /version) only once no login with an older one
// is in flight, as a well-behaved application drains its pool before it confirms.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Client as LdapClient } from 'ldapts';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../src/consumers/signing.js';
import { trackSecret } from '../src/redact.js';
import type { SecretStore } from '../src/store/contract.js';
import type { Rng } from './rng.js';
import { sleep } from './servers.js';

export type LoginResult = 'ok' | 'auth' | 'conn';

interface Held {
  versionId: string;
  /** Where it logs in: 'redis' (an ACL user, AUTH username password), 'mysql' (MariaDB), 'ldap' (a bind to `url`) or PostgreSQL. */
  engine: string;
  /** The ldap rotator's value names its server by URL. */
  url: string;
  username: string;
  password: string;
  host: string;
  port: number;
  dbname: string;
}

/** An interval during which the client used a version for new logins, until it was drained of it. */
export interface Holding {
  versionId: string;
  from: number;
  /** When the last login with it ended after the client switched away; null while still held. */
  until: number | null;
}

export interface AuthFailure {
  secretId: string;
  versionId: string;
  at: string;
  code: string;
  /** The version the client held when the failure came back. */
  heldNow: string | null;
}

class Client {
  held: Held | null = null;
  reported: string | null = null;
  readonly inflight = new Map<string, number>();
  readonly holdings: Holding[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly secretId: string,
    readonly overlap: boolean,
    readonly logsIn: boolean,
  ) {}

  /** Serializes notices for one secret: a late one must not overtake an earlier one. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

export interface ClientCounters {
  overlap: Record<LoginResult, number>;
  /** Single-user secrets: one login right after each switch, counted apart (no overlap by design). */
  single: Record<LoginResult, number>;
  /** Of the overlap logins, those of redis-acl secrets (AUTH as the ACL user). */
  redis: Record<LoginResult, number>;
  /** Of the overlap logins, those of mysql secrets (MariaDB, dual password). */
  mariadb: Record<LoginResult, number>;
  /** Of the overlap logins, those of ldap secrets (slapd binds, alternating accounts). */
  ldap: Record<LoginResult, number>;
  /** Of the overlap logins, those of http secrets (GET /v1/me of the fake SaaS with the key). */
  http: Record<LoginResult, number>;
  notices: number;
  noticeErrors: number;
  /** Of the notices, how many came through the signed webhook (POST), and verify GETs answered. */
  webhookNotices: number;
  webhookVerifies: number;
  /** Webhook requests whose signature did not verify: each one is a bug (rotor signs every one). */
  webhookRefused: Array<{ at: string; path: string; reason: string }>;
}

export interface ClientFleet {
  url: string;
  counters: ClientCounters;
  authFailures: AuthFailure[];
  /** Per secret, which version the client held when. */
  holdings(secretId: string): Holding[];
  heldVersion(secretId: string): string | null;
  /** Starts the login loops of overlap secrets. */
  startLoops(rng: Rng, everyMs: [number, number]): void;
  close(): Promise<void>;
}

export async function startClients(
  secrets: ReadonlyArray<{ id: string; overlap: boolean; login: boolean }>,
  store: SecretStore,
  opts: { webhookKey: string },
): Promise<ClientFleet> {
  const clients = new Map(secrets.map((s) => [s.id, new Client(s.id, s.overlap, s.login)]));
  const counters: ClientCounters = {
    overlap: { ok: 0, auth: 0, conn: 0 },
    single: { ok: 0, auth: 0, conn: 0 },
    redis: { ok: 0, auth: 0, conn: 0 },
    mariadb: { ok: 0, auth: 0, conn: 0 },
    ldap: { ok: 0, auth: 0, conn: 0 },
    http: { ok: 0, auth: 0, conn: 0 },
    notices: 0,
    noticeErrors: 0,
    webhookNotices: 0,
    webhookVerifies: 0,
    webhookRefused: [],
  };
  const authFailures: AuthFailure[] = [];
  let running = true;

  async function attempt(c: Client, h: Held, bucket: Record<LoginResult, number>): Promise<LoginResult> {
    c.inflight.set(h.versionId, (c.inflight.get(h.versionId) ?? 0) + 1);
    try {
      const result = await login(h);
      bucket[result.kind]++;
      if (h.engine === 'redis') counters.redis[result.kind]++;
      if (h.engine === 'mysql') counters.mariadb[result.kind]++;
      if (h.engine === 'ldap') counters.ldap[result.kind]++;
      if (h.engine === FAKE_SAAS) counters.http[result.kind]++;
      if (result.kind === 'auth') {
        authFailures.push({
          secretId: c.secretId,
          versionId: h.versionId,
          at: new Date().toISOString(),
          code: result.code,
          heldNow: c.held?.versionId ?? null,
        });
      }
      return result.kind;
    } finally {
      c.inflight.set(h.versionId, c.inflight.get(h.versionId)! - 1);
    }
  }

  async function switchTo(c: Client): Promise<string> {
    const current = await store.get(c.secretId, 'CURRENT');
    if (!current) throw new Error(`no CURRENT for ${c.secretId}`);
    trackSecret(current.value);
    const v = current.value;
    const before = c.held?.versionId;
    if (before !== current.versionId) {
      c.held = {
        versionId: current.versionId,
        engine: engineOf(v),
        url: String(v.url ?? ''),
        username: String(v.username),
        password: String(v.password ?? v.secret),
        host: String(v.host),
        port: Number(v.port),
        dbname: String(v.dbname),
      };
      const now = Date.now();
      c.holdings.push({ versionId: current.versionId, from: now, until: null });
      // Drain: wait for logins still using an older version, then mark it released.
      for (let i = 0; i < 400 && [...c.inflight].some(([ver, n]) => ver !== current.versionId && n > 0); i++) await sleep(25);
      const drained = Date.now();
      for (const h of c.holdings) if (h.versionId !== current.versionId && h.until === null) h.until = drained;
      if (!c.overlap && c.logsIn) await attempt(c, c.held, counters.single);
    }
    c.reported = current.versionId;
    return current.versionId;
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // rotor's webhook consumer: every request signed over `timestamp.body` (the verify GET's body is empty).
    const signed = async (body: string): Promise<boolean> => {
      const verdict = verifySignature(opts.webhookKey, body, {
        timestamp: header(req, TIMESTAMP_HEADER),
        signature: header(req, SIGNATURE_HEADER),
      });
      if (verdict.ok) return true;
      counters.webhookRefused.push({ at: new Date().toISOString(), path: url.pathname, reason: verdict.reason });
      reply(401, { error: `unauthorized: ${verdict.reason}` });
      return false;
    };
    try {
      if (req.method === 'POST' && url.pathname === '/rotor/reload') {
        let body = '';
        for await (const chunk of req) body += chunk;
        if (!(await signed(body))) return;
        const notice = JSON.parse(body) as { secretId: string };
        const c = clients.get(notice.secretId);
        if (!c) return reply(404, { error: 'unknown secret' });
        counters.notices++;
        counters.webhookNotices++;
        const version = await c.serial(() => switchTo(c));
        return reply(200, { version });
      }
      if (req.method === 'GET' && url.pathname === '/rotor/version') {
        if (!(await signed(''))) return;
        const c = clients.get(url.searchParams.get('secret') ?? '');
        if (!c) return reply(404, { error: 'unknown secret' });
        counters.webhookVerifies++;
        return reply(200, { version: c.reported });
      }
      if (req.method === 'POST' && url.pathname === '/notice') {
        let body = '';
        for await (const chunk of req) body += chunk;
        const notice = JSON.parse(body) as { secretId: string };
        const c = clients.get(notice.secretId);
        if (!c) return reply(404, { error: 'unknown secret' });
        counters.notices++;
        const version = await c.serial(() => switchTo(c));
        return reply(200, { version });
      }
      if (req.method === 'GET' && url.pathname === '/version') {
        const c = clients.get(url.searchParams.get('secret') ?? '');
        if (!c) return reply(404, { error: 'unknown secret' });
        return reply(200, { version: c.reported });
      }
      reply(404, { error: 'not found' });
    } catch (err) {
      counters.noticeErrors++;
      reply(503, { error: (err as Error).message.slice(0, 200) });
    }
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const loops: Promise<void>[] = [];

  return {
    url: `http://127.0.0.1:${port}`,
    counters,
    authFailures,
    holdings: (id) => clients.get(id)?.holdings ?? [],
    heldVersion: (id) => clients.get(id)?.held?.versionId ?? null,
    startLoops(rng, [min, max]) {
      for (const c of clients.values()) {
        if (!c.overlap || !c.logsIn) continue;
        const r = rng.fork(c.secretId);
        loops.push(
          (async () => {
            await sleep(r.int(0, max));
            while (running) {
              if (c.held) await attempt(c, c.held, counters.overlap);
              await sleep(r.int(min, max));
            }
          })(),
        );
      }
    },
    async close() {
      running = false;
      await Promise.allSettled(loops);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Logs in as an application would: a fresh connection, then goodbye. */
async function login(h: Held): Promise<{ kind: LoginResult; code: string }> {
  return h.engine === 'redis'
    ? redisLogin(h)
    : h.engine === 'mysql'
      ? mysqlLogin(h)
      : h.engine === 'ldap'
        ? ldapLogin(h)
        : h.engine === FAKE_SAAS
          ? saasLogin(h)
          : postgresLogin(h);
}

/** The value's `engine` (AWS's layout), or `ldap` for the ldap rotator's `{ url, username, password }`. */
function engineOf(v: Record<string, string | number>): string {
  return String(v.engine ?? (/^ldaps?:/.test(String(v.url ?? '')) ? 'ldap' : 'postgres'));
}

/** A simple bind as the account (ldapts); result 49 is an authentication failure, anything else a connection error. */
async function ldapLogin(h: Held): Promise<{ kind: LoginResult; code: string }> {
  const c = new LdapClient({ url: h.url, connectTimeout: 5_000, timeout: 5_000 });
  try {
    await c.bind(h.username, h.password);
    return { kind: 'ok', code: '' };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return code === 49 ? { kind: 'auth', code: '49' } : { kind: 'conn', code: String(code ?? 'error') };
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/** What the http secrets' values say as `engine`: the fake SaaS's answer names itself (test/helpers/fake-saas.ts). */
const FAKE_SAAS = 'fake-saas';

/** A call to the fake SaaS with the key (GET /v1/me); 401 is an authentication failure, anything else but 200 a connection error. */
async function saasLogin(h: Held): Promise<{ kind: LoginResult; code: string }> {
  try {
    const res = await fetch(`http://${h.host}:${h.port}/v1/me`, {
      headers: { authorization: `Bearer ${h.password}` },
      signal: AbortSignal.timeout(5_000),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status === 200 ? { kind: 'ok', code: '' } : { kind: res.status === 401 ? 'auth' : 'conn', code: String(res.status) };
  } catch (err) {
    return { kind: 'conn', code: (err as { code?: string }).code ?? 'error' };
  }
}

/** A mysql2 login and SELECT 1; error 1045 is an authentication failure, anything else a connection error. */
async function mysqlLogin(h: Held): Promise<{ kind: LoginResult; code: string }> {
  try {
    const c = await mysql.createConnection({ host: h.host, port: h.port, user: h.username, password: h.password, connectTimeout: 5_000 });
    c.on('error', () => undefined);
    try {
      await c.query('SELECT 1');
    } finally {
      await c.end().catch(() => c.destroy());
    }
    return { kind: 'ok', code: '' };
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    return errno === 1045
      ? { kind: 'auth', code: '1045' }
      : { kind: 'conn', code: String(errno ?? (err as { code?: string }).code ?? 'error') };
  }
}

/** AUTH as the ACL user and PING; WRONGPASS is an authentication failure, anything else a connection error. */
async function redisLogin(h: Held): Promise<{ kind: LoginResult; code: string }> {
  const c = new Redis({
    host: h.host,
    port: h.port,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5_000,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.call('AUTH', h.username, h.password);
    await c.ping();
    return { kind: 'ok', code: '' };
  } catch (err) {
    const message = (err as Error).message;
    return /WRONGPASS|NOAUTH|NOPERM/.test(message)
      ? { kind: 'auth', code: message.split(' ')[0]! }
      : { kind: 'conn', code: (err as { code?: string }).code ?? 'error' };
  } finally {
    c.disconnect();
  }
}

async function postgresLogin(h: Held): Promise<{ kind: LoginResult; code: string }> {
  const c = new pg.Client({
    host: h.host,
    port: h.port,
    database: h.dbname,
    user: h.username,
    password: h.password,
    connectionTimeoutMillis: 5_000,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return { kind: 'ok', code: '' };
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    return { kind: code === '28P01' || code === '28000' ? 'auth' : 'conn', code };
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** One login with whatever CURRENT holds now, for the checker. */
export async function loginWith(value: Record<string, string | number>): Promise<{ kind: LoginResult; code: string }> {
  return login({
    versionId: '',
    engine: engineOf(value),
    url: String(value.url ?? ''),
    username: String(value.username),
    password: String(value.password ?? value.secret),
    host: String(value.host),
    port: Number(value.port),
    dbname: String(value.dbname),
  });
}
