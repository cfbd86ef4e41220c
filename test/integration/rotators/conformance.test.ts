// Every built-in rotator against the conformance suite (src/rotator/conformance.ts), each on a live
// target of its own: PostgreSQL (both strategies), MariaDB (the mysql rotator's three strategies),
// a Redis primary + replica pair, the command rotator driving the example API key service
// through its example script, and aws-iam-access-key on the IAM + STS fake.
import { randomBytes } from 'node:crypto';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll } from 'vitest';
import type { ConformanceHarness } from '../../../src/rotator/conformance.js';
import { describeConformance } from '../../../src/rotator/conformance-vitest.js';
import type { SecretValue } from '../../../src/rotator/contract.js';
import awsIamAccessKeyRotator from '../../../rotators/aws-iam-access-key/index.js';
import commandRotator from '../../../rotators/command/index.js';
import mysqlRotator from '../../../rotators/mysql/index.js';
import postgresRotator, { ensureAlternatingRoles, ensureSingleUser } from '../../../rotators/postgres/index.js';
import redisAclRotator from '../../../rotators/redis-acl/index.js';
import exampleHarness from '../../../examples/command-rotator/conformance-harness.mjs';
import { FakeIam } from '../../helpers/aws/iam.js';
import { installAwsFakes } from '../../helpers/aws/install.js';
import { startMariadbServer, type MariadbServerHandle } from '../../helpers/mariadb-server.js';
import { mysqlSession } from '../../helpers/mysql-login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis.js';

const suffix = randomBytes(4).toString('hex');
let db: TestDatabase | undefined;
const servers: RedisServerHandle[] = [];

let mariadb: Promise<MariadbServerHandle> | undefined;

afterAll(async () => {
  await db?.drop();
  await (await mariadb)?.stop();
  for (const s of servers) await s.stop();
});

async function database(): Promise<TestDatabase> {
  db ??= await createTestDatabase('conformance');
  return db;
}

/** Passwords set by hand on `roles`, as an operator did before rotor: one credential per role. */
async function pgByHand(d: TestDatabase, roles: readonly string[]): Promise<SecretValue[]> {
  return Promise.all(
    roles.map(async (role) => {
      const password = `by-hand-${randomBytes(12).toString('hex')}`;
      await d.pool.query(`ALTER ROLE ${pg.escapeIdentifier(role)} PASSWORD ${pg.escapeLiteral(password)}`);
      return { engine: 'postgres', host: d.host, port: d.port, dbname: d.name, username: role, password };
    }),
  );
}

function pgSession(d: TestDatabase) {
  return async (v: SecretValue) => {
    const c = new pg.Client({ host: d.host, port: d.port, database: d.name, user: String(v.username), password: String(v.password) });
    c.on('error', () => undefined);
    await c.connect();
    return { close: () => c.end().catch(() => undefined) };
  };
}

describeConformance('postgres (alternating users)', postgresRotator, async (): Promise<ConformanceHarness> => {
  const d = await database();
  const group = `conf_${suffix}`;
  const users = [`conf_${suffix}_a`, `conf_${suffix}_b`] as const;
  await ensureAlternatingRoles(d.pool, { group, users, database: d.name });
  return {
    params: { strategy: 'alternating-users', target: { database: d.name, admin: 'env:ADMIN', users, group } },
    resolveRef: async () => d.url,
    openSession: pgSession(d),
    inherited: () => pgByHand(d, users),
  };
});

describeConformance('postgres (single user)', postgresRotator, async (): Promise<ConformanceHarness> => {
  const d = await database();
  const user = `conf_${suffix}_single`;
  await ensureSingleUser(d.pool, { user, database: d.name });
  return {
    params: { strategy: 'single-user', target: { database: d.name, admin: 'env:ADMIN', user } },
    resolveRef: async () => d.url,
    openSession: pgSession(d),
    inherited: () => pgByHand(d, [user]),
  };
});

describeConformance('redis-acl (primary + replica)', redisAclRotator, async (): Promise<ConformanceHarness> => {
  const primary = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
  servers.push(primary);
  const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  servers.push(replica);
  const adminPassword = randomBytes(18).toString('base64url');
  for (const s of [primary, replica]) {
    const c = new Redis(s.port, '127.0.0.1');
    await c.call('ACL', 'SETUSER', 'rotor-admin', 'on', `>${adminPassword}`, '+@all', '~*');
    await c.call('ACL', 'SETUSER', 'app', 'on', '~app:*', '+@read', '+@write', '+ping');
    c.disconnect();
  }
  const nodes = [primary, replica].map((s) => ({ host: '127.0.0.1', port: s.port }));
  return {
    params: { target: { user: 'app', nodes, admin: 'env:REDIS_ADMIN' } },
    resolveRef: async () => `redis://rotor-admin:${adminPassword}@127.0.0.1:${primary.port}`,
    // A password set by hand on each node, as before rotor (ACLs are not replicated).
    async inherited() {
      const password = randomBytes(18).toString('base64url');
      for (const s of [primary, replica]) {
        const c = new Redis(s.port, '127.0.0.1');
        await c.call('ACL', 'SETUSER', 'app', `>${password}`);
        c.disconnect();
      }
      return { engine: 'redis', host: '127.0.0.1', port: primary.port, username: 'app', password };
    },
    async openSession(v) {
      const c = new Redis({
        port: primary.port,
        host: '127.0.0.1',
        username: String(v.username),
        password: String(v.password),
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      c.on('error', () => undefined);
      await c.connect();
      await c.ping();
      return { close: async () => c.disconnect() };
    },
  };
});

// One private MariaDB for the three strategies; each provisions its own accounts.
function mysqlHarness(params: Record<string, unknown>, accounts: string[]) {
  return async (): Promise<ConformanceHarness> => {
    const server = await (mariadb ??= startMariadbServer());
    return {
      params: { ...params, target: { admin: 'env:MYSQL_ADMIN', provision: true, ...(params.target as object) } },
      resolveRef: async () => server.url,
      openSession: (v) => mysqlSession(server, v),
      // A password set by hand on each account (the suite's earlier checks provisioned them).
      async inherited() {
        const c = await mysql.createConnection(server.url);
        try {
          return await Promise.all(
            accounts.map(async (username) => {
              const password = `by-hand-${randomBytes(12).toString('hex')}`;
              await c.query('ALTER USER ?@? IDENTIFIED BY ?', [username, '%', password]);
              return { engine: 'mysql', host: server.host, port: server.port, username, password };
            }),
          );
        } finally {
          await c.end();
        }
      },
    };
  };
}

describeConformance(
  'mysql (dual password, MariaDB)',
  mysqlRotator,
  mysqlHarness({ strategy: 'dual-password', target: { user: `cd_${suffix}` } }, [`cd_${suffix}`]),
);
describeConformance(
  'mysql (alternating users, MariaDB)',
  mysqlRotator,
  mysqlHarness({ strategy: 'alternating-users', target: { users: [`ca_${suffix}`, `cb_${suffix}`], role: `cr_${suffix}` } }, [
    `ca_${suffix}`,
    `cb_${suffix}`,
  ]),
);
describeConformance(
  'mysql (single user, MariaDB)',
  mysqlRotator,
  mysqlHarness({ strategy: 'single-user', target: { user: `cs_${suffix}` } }, [`cs_${suffix}`]),
);

describeConformance('command (the example API key service)', commandRotator, async () => (await exampleHarness()) as ConformanceHarness);

describeConformance('aws-iam-access-key (the IAM + STS fake)', awsIamAccessKeyRotator, async (): Promise<ConformanceHarness> => {
  const iam = new FakeIam();
  const uninstall = installAwsFakes({ iam });
  const userName = `conformance-${suffix}`;
  await iam.createUser(userName);
  return {
    // deleteAfter 0s: the discard check needs the slot of the key the revoke check deactivated.
    params: { target: { userName, region: 'eu-central-1', settleTimeout: '10s', deleteAfter: '0s', lastUsedWindow: '1s' } },
    // A consumer's call signed with the key: IAM records it as the key's last use.
    async openSession(v) {
      const client = new STSClient({
        region: 'eu-central-1',
        credentials: { accessKeyId: String(v.accessKeyId), secretAccessKey: String(v.secretAccessKey) },
      });
      await client.send(new GetCallerIdentityCommand({}));
      client.destroy();
      return { close: async () => undefined };
    },
    close: async () => uninstall(),
  };
});
