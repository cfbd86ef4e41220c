// Full runs with the real mysql rotator against a private MariaDB, every strategy, both queue
// backends, checked the way an application would: by logging in with a real client (mysql2).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { startMariadbServer, type MariadbServerHandle } from '../../helpers/mariadb-server.js';
import { mysqlLogin } from '../../helpers/mysql-login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { privateRedis, uniquePrefix } from '../../helpers/redis.js';
import { stubbornConsumer } from '../../helpers/stubborn-consumer.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';

let maria: MariadbServerHandle;

beforeAll(async () => {
  maria = await startMariadbServer();
  await maria.query('CREATE DATABASE app');
});

afterAll(async () => {
  await maria?.stop();
});

describe.each(['postgres', 'redis'] as const)('MariaDB rotations on the %s queue backend', (backend) => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  const p = `mr_${backend.slice(0, 2)}`;

  beforeAll(async () => {
    db = await createTestDatabase(`myrot_${backend}`);
    await migrate(db.pool);
    kit = await createQueueKit(
      backend === 'redis' ? { kind: 'redis', url: privateRedis().url, prefix: uniquePrefix('myrot') } : { kind: 'postgres', url: db.url },
      silentLogger,
    );
    await loadRotators(['mysql']);
    store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { local: store },
      resolveRef: async () => maria.url,
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      pollMs: 50,
      consumers: { stubborn: stubbornConsumer },
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.drop();
  });

  const target = (accounts: object) => ({
    host: maria.host,
    port: maria.port,
    database: 'app',
    admin: 'env:MYSQL_ADMIN',
    provision: true,
    grants: [{ privileges: ['SELECT'], on: 'app.*' }],
    ...accounts,
  });
  const sync = (s: ResolvedSecret) =>
    syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
  const rotate = async (id: string) =>
    waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: id, trigger: 'manual', actor: 'test' })).id, 30_000);
  const login = (v: Record<string, string | number>) => mysqlLogin(maria, v);

  it.each([
    ['dual-password', { user: `${p}_dual` }],
    ['alternating-users', { users: [`${p}_a`, `${p}_b`], role: `${p}_role` }],
  ] as const)(
    '%s: both credentials log in during grace; after revoke the old gets 1045 and the new logs in',
    async (strategy, accounts) => {
      const secret = secretFixture(`my/${strategy}-${backend}`, {
        graceMs: 1_500,
        rotator: { name: 'mysql', params: { strategy, target: target(accounts) } },
      });
      await sync(secret);
      expect((await rotate(secret.id)).state).toBe('done');
      const old = (await store.get(secret.id, 'CURRENT'))!.value;
      const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
      await waitFor(
        async () =>
          (await db.pool.query("select 1 from runs where id = $1 and step in ('grace', 'verify-consumers')", [run.id])).rowCount === 1,
        { timeoutMs: 20_000 },
      );
      const next = (await store.get(secret.id, 'CURRENT'))!.value;
      expect(next.password).not.toBe(old.password);
      if (strategy === 'alternating-users') expect(next.username).not.toBe(old.username);
      expect(await login(old)).toBe('ok');
      expect(await login(next)).toBe('ok');
      expect((await waitForRunEnd(db.pool, run.id, 30_000)).state).toBe('done');
      expect(await login(old)).toBe(1045);
      expect(await login(next)).toBe('ok');
    },
  );

  it('single-user: the password changes in place; the old one gets 1045 and the new logs in', async () => {
    const secret = secretFixture(`my/single-${backend}`, {
      graceMs: 100,
      rotator: { name: 'mysql', params: { strategy: 'single-user', target: target({ user: `${p}_single` }) } },
    });
    await sync(secret);
    expect((await rotate(secret.id)).state).toBe('done');
    const old = (await store.get(secret.id, 'CURRENT'))!.value;
    expect((await rotate(secret.id)).state).toBe('done');
    const next = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(next.username).toBe(old.username);
    expect(await login(old)).toBe(1045);
    expect(await login(next)).toBe('ok');
  });

  it('dual-password, a consumer that never confirms: rolled back; the old password alone logs in', async () => {
    const rotator = { name: 'mysql', params: { strategy: 'dual-password', target: target({ user: `${p}_stub` }) } };
    const secret = secretFixture(`my/stubborn-${backend}`, {
      graceMs: 100,
      rotator,
      consumers: [{ name: 'nightly-batch', type: 'stubborn', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 400, params: {} }],
    });
    await sync({ ...secret, consumers: [], hash: 'bootstrap' });
    expect((await rotate(secret.id)).state).toBe('done');
    const old = (await store.get(secret.id, 'CURRENT'))!;
    await sync(secret);
    const ended = await rotate(secret.id);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    expect(ended.error).toContain('nightly-batch');
    expect((await store.get(secret.id, 'CURRENT'))!.versionId).toBe(old.versionId);
    expect(await login(old.value)).toBe('ok');
    const rejected = (await store.getVersion(secret.id, ended.newVersion!))!.value;
    expect(await login(rejected)).toBe(1045);
  });
});
