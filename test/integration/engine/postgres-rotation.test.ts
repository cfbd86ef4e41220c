// Full runs with the real PostgreSQL rotator, both strategies, both queue backends, checked the way
// an application would: by logging in with a real client.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { privateRedis, uniquePrefix } from '../../helpers/redis.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { listSteps } from '../../../src/state/runs.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';

describe.each(['postgres', 'redis'] as const)('PostgreSQL rotations on the %s queue backend', (backend) => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  const p = `pr_${backend.slice(0, 2)}`;

  beforeAll(async () => {
    db = await createTestDatabase(`pgrot_${backend}`);
    await migrate(db.pool);
    await db.pool.query(
      `create role ${p}_app nologin; create role ${p}_a login in role ${p}_app; create role ${p}_b login in role ${p}_app; create role ${p}_single login; create role ${p}_c login in role ${p}_app; create role ${p}_d login in role ${p}_app`,
    );
    kit = await createQueueKit(
      backend === 'redis' ? { kind: 'redis', url: privateRedis().url, prefix: uniquePrefix('pgrot') } : { kind: 'postgres', url: db.url },
      silentLogger,
    );
    await loadRotators(['postgres']);
    store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { local: store },
      // env:DOWN names an admin URL on a port nothing listens on: the target is down.
      resolveRef: async (ref) => (ref === 'env:DOWN' ? `postgres://admin:x@127.0.0.1:${await freePort()}/down` : db.url),
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      pollMs: 50,
      // A consumer that is told but never takes the new version (a batch job nobody restarted).
      consumers: { stubborn: { type: 'stubborn', carriesValue: false, notify: async () => undefined, confirm: async () => null } },
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.pool
      .query(
        `drop role if exists ${p}_a; drop role if exists ${p}_b; drop role if exists ${p}_c; drop role if exists ${p}_d; drop role if exists ${p}_app; drop role if exists ${p}_single`,
      )
      .catch(() => undefined);
    await db?.drop();
  });

  const target = () => ({ host: db.host, port: db.port, database: db.name, admin: 'env:ADMIN', sslmode: 'disable' });

  it('alternating users: both credentials work during grace; after revoke the old is refused and the new accepted', async () => {
    const secret = secretFixture(`pg/alt-${backend}`, {
      graceMs: 1_500,
      rotator: {
        name: 'postgres',
        params: { strategy: 'alternating-users', target: { ...target(), users: [`${p}_a`, `${p}_b`], group: `${p}_app` } },
      },
    });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    expect(
      (await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id))
        .state,
    ).toBe('done');
    const old = (await store.get(secret.id, 'CURRENT'))!.value;
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    // During grace: the new credential is CURRENT, and the old one still works.
    await waitFor(
      async () =>
        (await db.pool.query("select 1 from runs where id = $1 and step in ('grace', 'verify-consumers') ", [run.id])).rowCount === 1,
      { timeoutMs: 20_000 },
    );
    const next = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(next.username).not.toBe(old.username);
    expect(await login(db, old.username, old.password)).toBe(true);
    expect(await login(db, next.username, next.password)).toBe(true);
    expect((await waitForRunEnd(db.pool, run.id)).state).toBe('done');
    expect(await login(db, old.username, old.password)).toBe('28P01');
    expect(await login(db, next.username, next.password)).toBe(true);
  });

  it('a consumer that never confirms: rolled back, the old credential works, the new one is refused, the consumer named', async () => {
    const rotator = {
      name: 'postgres',
      params: { strategy: 'alternating-users', target: { ...target(), users: [`${p}_c`, `${p}_d`], group: `${p}_app` } },
    };
    const secret = secretFixture(`pg/stubborn-${backend}`, {
      graceMs: 100,
      rotator,
      consumers: [{ name: 'nightly-batch', type: 'stubborn', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 400, params: {} }],
    });
    const sync = (s: typeof secret) =>
      syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    await sync({ ...secret, consumers: [], hash: 'bootstrap' });
    expect(
      (await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id))
        .state,
    ).toBe('done');
    const old = (await store.get(secret.id, 'CURRENT'))!;
    await sync(secret);
    const ended = await waitForRunEnd(
      db.pool,
      (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id,
      20_000,
    );
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    expect(ended.error).toContain('nightly-batch');
    expect((await store.get(secret.id, 'CURRENT'))!.versionId).toBe(old.versionId);
    expect(await login(db, old.value.username, old.value.password)).toBe(true);
    const rejected = (await store.getVersion(secret.id, ended.newVersion!))!.value;
    expect(rejected.username).not.toBe(old.value.username);
    expect(await login(db, rejected.username, rejected.password)).toBe('28P01');
  });

  it('single user: the password changes in place; the old one is refused and the new accepted', async () => {
    const secret = secretFixture(`pg/single-${backend}`, {
      graceMs: 100,
      rotator: { name: 'postgres', params: { strategy: 'single-user', target: { ...target(), user: `${p}_single` } } },
    });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    expect(
      (await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id))
        .state,
    ).toBe('done');
    const old = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(
      (
        await waitForRunEnd(
          db.pool,
          (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'emergency', actor: 'test', reason: 'test' })).id,
        )
      ).state,
    ).toBe('done');
    const next = (await store.get(secret.id, 'CURRENT'))!.value;
    expect(next.username).toBe(old.username);
    expect(await login(db, old.username, old.password)).toBe('28P01');
    expect(await login(db, next.username, next.password)).toBe(true);
  });

  it('a target that is down: needs-attention after the configured attempts, and the old credential still works', async () => {
    const working = secretFixture(`pg/down-${backend}`, {
      graceMs: 100,
      retry: { attempts: 3, backoffMs: 20, maxBackoffMs: 50 },
      rotator: { name: 'postgres', params: { strategy: 'single-user', target: { ...target(), user: `${p}_single` } } },
    });
    const sync = (s: typeof working) =>
      syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    await sync(working);
    expect(
      (await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: working.id, trigger: 'manual', actor: 'test' })).id))
        .state,
    ).toBe('done');
    const old = (await store.get(working.id, 'CURRENT'))!;
    const freeTargetPort = await freePort();
    await sync({
      ...working,
      hash: 'down',
      rotator: {
        name: 'postgres',
        params: { strategy: 'single-user', target: { ...target(), port: freeTargetPort, admin: 'env:DOWN', user: `${p}_single` } },
      },
    });
    const run = await requestRotation(db.pool, kit, { secretId: working.id, trigger: 'manual', actor: 'test' });
    const ended = await waitForRunEnd(db.pool, run.id, 30_000);
    expect(ended.state).toBe('needs-attention');
    expect(ended.error).toMatch(/create failed after 3 attempts/);
    expect((await listSteps(db.pool, run.id)).filter((s) => s.step === 'create').map((s) => s.status)).toEqual([
      'failed',
      'failed',
      'failed',
    ]);
    expect((await store.get(working.id, 'CURRENT'))!.versionId).toBe(old.versionId);
    expect(await login(db, old.value.username, old.value.password)).toBe(true);
  });
});
