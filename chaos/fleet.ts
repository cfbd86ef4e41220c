// The secrets of a chaos run: resolved policies (as the policy loader would produce them) with
// short cadences and grace windows, and the target roles each one rotates.
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureAlternatingRoles, ensureSingleUser, postgresParamsSchema } from '../rotators/postgres/index.js';
import { ldapParamsSchema } from '../rotators/ldap/schema.js';
import { mysqlParamsSchema } from '../rotators/mysql/schema.js';
import { httpRotatorParamsSchema } from '../rotators/http/schema.js';
import { redisAclParamsSchema } from '../rotators/redis-acl/index.js';
import type { ResolvedSecret, Schedule } from '../src/policy/types.js';
import { GROUPS_DN, SERVICES_DN, type SlapdHandle } from '../test/helpers/slapd-server.js';
import type { ChaosOptions } from './options.js';
import type { Rng } from './rng.js';

export const TARGET_DATABASE = 'app';
/** The reference every secret's admin connection resolves through (the worker's environment). */
export const ADMIN_REF = 'env:CHAOS_TARGET_ADMIN_URL';
export const CLIENT_CONSUMER = 'chaos-client';
/** The admin user of the target redis-server, as the workers resolve it (a redis:// URL). */
export const REDIS_ADMIN_REF = 'env:CHAOS_REDIS_TARGET_ADMIN_URL';
/** The admin of the target MariaDB (mysql secrets), as the workers resolve it (a mysql:// URL). */
export const MARIADB_ADMIN_REF = 'env:CHAOS_MARIADB_TARGET_ADMIN_URL';
/** The password of the target slapd's rotor admin (ldap secrets), as the workers resolve it. */
export const LDAP_ADMIN_REF = 'env:CHAOS_LDAP_ADMIN_PASSWORD';
/** The fake SaaS providers' admin token (http secrets), as the workers resolve it. */
export const HTTP_ADMIN_REF = 'env:CHAOS_HTTP_ADMIN_TOKEN';
/** The webhook consumers' signing key, as the workers resolve it. */
export const WEBHOOK_KEY_REF = 'env:CHAOS_WEBHOOK_KEY';

export interface FleetSecret {
  secret: ResolvedSecret;
  /** Old and new credentials both work between apply and revoke (alternating users, random secret). */
  overlap: boolean;
  /** A credential clients log in to the target with (postgres); a random secret has no target but the store. */
  login: boolean;
  /** Its application is told through the real webhook consumer (signed HTTP), not the chaos consumer. */
  webhook: boolean;
  /** Where its clients log in: the target PostgreSQL, redis-server, MariaDB or slapd, a fake SaaS, or nowhere (random secret). */
  engine: 'postgres' | 'redis' | 'mariadb' | 'ldap' | 'http' | 'none';
}

/** The mix and timings come from the run's options as they are; the rest is where the servers are. */
export interface FleetSpec extends Pick<
  ChaosOptions,
  'singleEvery' | 'randomEvery' | 'webhookEvery' | 'redisEvery' | 'mariadbEvery' | 'ldapEvery' | 'httpEvery' | 'cadenceMs' | 'graceMs'
> {
  /** The fake SaaS of each http secret, in fleet order (absent: a placeholder address). */
  httpTargets?: readonly string[];
  count: number;
  target: { host: string; port: number };
  /** The target redis-server (redis-acl secrets). */
  redisTarget: { host: string; port: number };
  /** The target MariaDB (mysql secrets). */
  mariadbTarget: { host: string; port: number };
  /** The target slapd (ldap secrets): its plain loopback URL and the rotor admin's DN. */
  ldapTarget: { url: string; adminDn: string };
  /** Base URL of the consumer clients' notice endpoint (the harness). */
  consumerUrl: string;
}

export function buildFleet(spec: FleetSpec, rng: Rng): FleetSecret[] {
  const out: FleetSecret[] = [];
  let httpIndex = 0;
  for (let i = 1; i <= spec.count; i++) {
    const n = String(i).padStart(3, '0');
    const random = spec.randomEvery > 0 && i % spec.randomEvery === Math.floor(spec.randomEvery / 2);
    const redis = !random && spec.redisEvery > 0 && i % spec.redisEvery === Math.floor(spec.redisEvery / 2) + 1;
    const mariadb = !random && !redis && spec.mariadbEvery > 0 && i % spec.mariadbEvery === Math.floor(spec.mariadbEvery / 2) + 2;
    const ldap = !random && !redis && !mariadb && spec.ldapEvery > 0 && i % spec.ldapEvery === Math.floor(spec.ldapEvery / 2) + 3;
    const http = !random && !redis && !mariadb && !ldap && isHttpSlot(spec, i);
    const single = !random && !redis && !mariadb && !ldap && !http && i % spec.singleEvery === 0;
    const base = {
      host: spec.target.host,
      port: spec.target.port,
      database: TARGET_DATABASE,
      admin: ADMIN_REF,
      sslmode: 'disable' as const,
    };
    const params = single
      ? { strategy: 'single-user' as const, target: { ...base, user: `c${n}_u` } }
      : {
          strategy: 'alternating-users' as const,
          target: { ...base, users: [`c${n}_a`, `c${n}_b`] as [string, string], group: `c${n}_g` },
        };
    // Validated now, so a mistake here fails the harness at once, not as 300 needs-attention runs.
    postgresParamsSchema.parse(params);
    const id = `chaos/${random ? 'random' : redis ? 'redis' : mariadb ? 'mariadb' : ldap ? 'ldap' : http ? 'http' : single ? 'single' : 'alt'}-${n}`;
    const webhook = spec.webhookEvery > 0 && i % spec.webhookEvery === 0;
    const consumer = webhook
      ? {
          name: 'app',
          type: 'webhook',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 60_000,
          // The client drains logins with the old version before it answers: up to 10 s.
          params: {
            url: `${spec.consumerUrl}/rotor/reload`,
            verify: `${spec.consumerUrl}/rotor/version`,
            secret: WEBHOOK_KEY_REF,
            timeout: '20s',
          },
        }
      : { name: 'app', type: CLIENT_CONSUMER, wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 60_000, params: { url: spec.consumerUrl } };
    const rotator = random
      ? { name: 'random-secret', params: { generate: { length: 40, alphabet: 'alnum', encoding: 'plain' } } }
      : redis
        ? { name: 'redis-acl', params: redisAclParams(spec, n) }
        : mariadb
          ? { name: 'mysql', params: mysqlParams(spec, n, i) }
          : ldap
            ? { name: 'ldap', params: ldapParams(spec, n) }
            : http
              ? { name: 'http', params: httpParams(spec.httpTargets?.[httpIndex++] ?? 'http://127.0.0.1:1') }
              : { name: 'postgres', params };
    const secret: ResolvedSecret = {
      id,
      owner: 'chaos',
      className: undefined,
      description: undefined,
      tags: ['chaos'],
      schedule: scheduleFor(rng, spec.cadenceMs),
      graceMs: rng.int(spec.graceMs[0], spec.graceMs[1]),
      emergencyGraceMs: 1_000,
      jitterMs: Math.round(spec.cadenceMs[0] / 4),
      window: undefined,
      // Enough to ride out a target restart (a few seconds) with full-jitter backoff.
      retry: { attempts: 6, backoffMs: 1_000, maxBackoffMs: 8_000 },
      drain: { mode: 'wait', timeoutMs: 30_000 },
      rotator,
      store: { backend: 'local', location: id, params: {} },
      consumers: [consumer],
      source: { file: 'chaos/fleet.ts', line: 1, col: 1 },
      hash: '',
    };
    out.push({
      secret: withHash(secret),
      overlap: !single,
      login: !random,
      webhook,
      engine: random ? 'none' : redis ? 'redis' : mariadb ? 'mariadb' : ldap ? 'ldap' : http ? 'http' : 'postgres',
    });
  }
  return out;
}

/** The n-th secret's redis-acl parameters, validated now as the postgres ones are. */
function redisAclParams(spec: FleetSpec, n: string) {
  const params = {
    target: { user: `c${n}_r`, nodes: [{ host: spec.redisTarget.host, port: spec.redisTarget.port }], admin: REDIS_ADMIN_REF },
    generate: {},
  };
  redisAclParamsSchema.parse(params);
  return params;
}

/** The n-th secret's mysql parameters: dual password, every other one alternating users; accounts provisioned by rotor. */
function mysqlParams(spec: FleetSpec, n: string, i: number) {
  const base = { host: spec.mariadbTarget.host, port: spec.mariadbTarget.port, admin: MARIADB_ADMIN_REF, provision: true };
  const params =
    Math.floor(i / spec.mariadbEvery) % 2 === 0
      ? { strategy: 'dual-password', target: { ...base, user: `c${n}_m` } }
      : { strategy: 'alternating-users', target: { ...base, users: [`c${n}_ma`, `c${n}_mb`], role: `c${n}_mr` } };
  mysqlParamsSchema.parse(params);
  return params;
}

/** The n-th secret's ldap parameters: two accounts in one group (setUpLdapTarget makes them), plain LDAP on loopback. */
function ldapParams(spec: FleetSpec, n: string) {
  const params = {
    strategy: 'alternating-accounts',
    target: {
      url: spec.ldapTarget.url,
      admin: { dn: spec.ldapTarget.adminDn, password: LDAP_ADMIN_REF },
      accounts: [`uid=c${n}-la,${SERVICES_DN}`, `uid=c${n}-lb,${SERVICES_DN}`],
      group: `cn=c${n}-l,${GROUPS_DN}`,
    },
  };
  ldapParamsSchema.parse(params);
  return params;
}

/** Creates the ldap secrets' accounts (passwords nobody keeps) and their groups on the target slapd. */
export async function setUpLdapTarget(slapd: SlapdHandle, fleet: readonly FleetSecret[]): Promise<void> {
  for (const { secret, engine } of fleet) {
    if (engine !== 'ldap') continue;
    const { accounts, group } = (secret.rotator.params as { target: { accounts: [string, string]; group: string } }).target;
    for (const dn of accounts) await slapd.addAccount(/^uid=([^,]+),/.exec(dn)![1]!, randomBytes(18).toString('base64url'));
    await slapd.addGroup(/^cn=([^,]+),/.exec(group)![1]!, accounts);
  }
}

/** Whether the i-th secret is an http one (the harness starts one fake provider for each). */
export function isHttpSlot(spec: Pick<FleetSpec, 'httpEvery'>, i: number): boolean {
  return spec.httpEvery > 0 && i % spec.httpEvery === (Math.floor(spec.httpEvery / 2) + 4) % spec.httpEvery;
}

/**
 * An http secret's parameters: the token API of test/helpers/fake-saas.ts, created and deleted with
 * the admin token. Beside the key, the value keeps where it works (the answer's `api`), which the
 * chaos clients log in to.
 */
function httpParams(url: string) {
  const admin = { Authorization: `Bearer {{ ref "${HTTP_ADMIN_REF}" }}` };
  const params = {
    target: {
      requests: {
        create: {
          method: 'POST',
          url: `${url}/v1/keys`,
          headers: admin,
          body: { name: 'rotor {{ secretId }} {{ runId }}' },
          extract: { id: '$.id', secret: '$.secret', engine: '$.api.engine', host: '$.api.host', port: '$.api.port' },
        },
        verify: { method: 'GET', url: `${url}/v1/me`, headers: { Authorization: 'Bearer {{ next.secret }}' } },
        revoke: { method: 'DELETE', url: `${url}/v1/keys/{{ current.id }}`, headers: admin },
        list: { method: 'GET', url: `${url}/v1/keys`, headers: admin, extract: { id: '$.data[*].id' } },
      },
      timeout: '5s',
    },
  };
  httpRotatorParamsSchema.parse(params);
  return params;
}

/** A quarter of the secrets on a cron cadence (every minute), the rest on an interval. */
function scheduleFor(rng: Rng, [min, max]: [number, number]): Schedule {
  if (min >= 60_000 && rng.next() < 0.25) return { kind: 'cron', expression: '* * * * *', tz: 'UTC' };
  if (min < 60_000 && rng.next() < 0.25) return { kind: 'cron', expression: '*/20 * * * * *', tz: 'UTC' };
  const ms = rng.int(min, max);
  return { kind: 'interval', ms, text: `${Math.round(ms / 1000)}s` };
}

export function withHash(secret: ResolvedSecret): ResolvedSecret {
  const { hash: _old, ...rest } = secret;
  return { ...secret, hash: createHash('sha256').update(JSON.stringify(rest)).digest('hex') };
}

/** Creates the target database and every role the fleet rotates (no passwords yet). */
export async function setUpTarget(adminUrl: (db?: string) => string, fleet: readonly FleetSecret[]): Promise<void> {
  const root = new pg.Client({ connectionString: adminUrl('postgres') });
  await root.connect();
  try {
    await root.query(`create database ${pg.escapeIdentifier(TARGET_DATABASE)}`);
  } finally {
    await root.end();
  }
  const c = new pg.Client({ connectionString: adminUrl(TARGET_DATABASE) });
  await c.connect();
  try {
    for (const { secret, engine } of fleet) {
      if (engine !== 'postgres') continue;
      const t = (secret.rotator.params as { target: { users?: [string, string]; group?: string; user?: string } }).target;
      if (t.users && t.group) await ensureAlternatingRoles(c, { group: t.group, users: t.users, database: TARGET_DATABASE });
      else await ensureSingleUser(c, { user: t.user!, database: TARGET_DATABASE });
    }
  } finally {
    await c.end();
  }
}
