// Full runs with the real PostgreSQL rotator, both strategies, both queue backends, checked the way
// an application would: by logging in with a real client. Rollbacks too: the new credential is
// revoked only once the consumers confirm the old version, and kept when one does not.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CannotConfirmError, type Consumer } from '../../../src/consumers/contract.js';
import { repairSecret } from '../../../src/engine/repair.js';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { privateRedis, uniquePrefix } from '../../helpers/redis.js';
import { freePort } from '../../helpers/ports.js';
import { stubbornConsumer } from '../../helpers/stubborn-consumer.js';
import { waitFor } from '../../helpers/wait.js';
import { runConsumers } from '../../../src/state/consumers.js';
import { getRun, listSteps } from '../../../src/state/runs.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';

/** What a `restarting` consumer saw when it first confirmed the old version of a run. */
interface Back {
  /** Whether the run's new credential still logged in at that moment, before the consumer answered. */
  newWorked: true | string;
  /** How many times it was told the old version. */
  toldOld: number;
}

/**
 * Pods restarted for each version they are told (the kubernetes consumer's way): those of the run's
 * new version never start, a rollout that cannot finish (CannotConfirmError at once, so the run rolls
 * back at once); those of the old version are ready `backMs` after they were told it, never when
 * `backMs` is unset. Until then the old version is "not yet": the pods that took the new one are
 * still there.
 */
function restartingConsumer(newWorks: (runId: string) => Promise<true | string>, backs: Map<string, Back>): Consumer<{ backMs?: number }> {
  const toldOld = new Map<string, { at: number; count: number }>();
  return {
    type: 'restarting',
    carriesValue: false,
    async notify(_ctx, notice) {
      if (notice.versionId.startsWith(notice.runId)) return;
      const told = toldOld.get(notice.runId);
      toldOld.set(notice.runId, { at: told?.at ?? Date.now(), count: (told?.count ?? 0) + 1 });
    },
    async confirm(ctx, notice) {
      if (notice.versionId.startsWith(notice.runId)) throw new CannotConfirmError('new pods crash-loop (CrashLoopBackOff)');
      const told = toldOld.get(notice.runId);
      const { backMs } = ctx.params;
      if (!told || backMs === undefined || Date.now() - told.at < backMs) return null;
      if (!backs.has(notice.runId)) backs.set(notice.runId, { newWorked: await newWorks(notice.runId), toldOld: told.count });
      return notice.versionId;
    },
  };
}

describe.each(['postgres', 'redis'] as const)('PostgreSQL rotations on the %s queue backend', (backend) => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  const p = `pr_${backend.slice(0, 2)}`;
  /** Roles of alternating-user pairs, two per test. */
  const PAIRED = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
  const backs = new Map<string, Back>();

  beforeAll(async () => {
    db = await createTestDatabase(`pgrot_${backend}`);
    await migrate(db.pool);
    await db.pool.query(
      `create role ${p}_app nologin; create role ${p}_single login; ` +
        PAIRED.map((r) => `create role ${p}_${r} login in role ${p}_app`).join('; '),
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
      consumers: {
        // Told the new version, never takes it (a batch job nobody restarted): it goes on with the old one.
        stubborn: stubbornConsumer,
        restarting: restartingConsumer(async (runId) => {
          const run = (await getRun(db.pool, runId))!;
          const value = (await store.getVersion(run.secretId, run.newVersion!))!.value;
          return login(db, value.username, value.password);
        }, backs) as Consumer<unknown>,
      },
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.pool
      .query(
        [...PAIRED.map((r) => `drop role if exists ${p}_${r}`), `drop role if exists ${p}_app`, `drop role if exists ${p}_single`].join(
          '; ',
        ),
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

  /** A secret on the pair `<p>_<a>`/`<p>_<b>` with `consumers`, rotated once without them: it has an old credential. */
  async function rotatedOnce(id: string, [a, b]: [string, string], consumers: ResolvedSecret['consumers']) {
    const secret = secretFixture(id, {
      graceMs: 100,
      rotator: {
        name: 'postgres',
        params: { strategy: 'alternating-users', target: { ...target(), users: [`${p}_${a}`, `${p}_${b}`], group: `${p}_app` } },
      },
      consumers,
    });
    const sync = (s: ResolvedSecret) =>
      syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    await sync({ ...secret, consumers: [], hash: 'bootstrap' });
    expect((await rotate(secret.id)).state).toBe('done');
    await sync(secret);
    return { secret, old: (await store.get(secret.id, 'CURRENT'))! };
  }
  const rotate = async (secretId: string) =>
    waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId, trigger: 'manual', actor: 'test' })).id, 20_000);
  const pods = (name: string, confirmTimeoutMs: number, backMs?: number) => ({
    name,
    type: 'restarting',
    wave: 1,
    cacheTtlMs: undefined,
    confirmTimeoutMs,
    params: backMs === undefined ? {} : { backMs },
  });

  it('a rollback revokes the new credential only once the consumer confirms the old version and its cache has expired; no emergency cuts it short', async () => {
    // The pods confirm the old version 400 ms after they are told it; they cache the value for 2 s
    // (well after they confirm, however late a loaded machine's poll sees it).
    const { secret, old } = await rotatedOnce(`pg/back-${backend}`, ['e', 'f'], [{ ...pods('api-pods', 5_000, 400), cacheTtlMs: 2_000 }]);
    const { id } = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    await waitFor(async () => (await getRun(db.pool, id))?.step === 'rollback', { timeoutMs: 20_000, message: 'the run rolls back' });
    // An operator's forced emergency while it rolls back would revoke the new credential unconfirmed: refused.
    const emergency = requestRotation(db.pool, kit, {
      secretId: secret.id,
      trigger: 'emergency',
      actor: 'test',
      reason: 'drill',
      force: true,
    });
    await expect(emergency).rejects.toThrow(`run ${id} (it is on its rollback step; an emergency rotation can start once it ends)`);
    const ended = await waitForRunEnd(db.pool, id, 20_000);
    expect(ended.trigger).toBe('manual');
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    expect(ended.error).toContain('consumer api-pods (restarting) cannot confirm version');
    // When the pods confirmed the old version, 400 ms after they were told it, the new credential still worked.
    expect(backs.get(ended.id)).toEqual({ newWorked: true, toldOld: 1 });
    const rejected = (await store.getVersion(secret.id, ended.newVersion!))!.value;
    expect(await login(db, rejected.username, rejected.password)).toBe('28P01');
    expect(await login(db, old.value.username, old.value.password)).toBe(true);
    expect((await store.get(secret.id, 'CURRENT'))!.versionId).toBe(old.versionId);
    expect(await store.get(secret.id, 'PREVIOUS')).toBeNull();
    // The rollback waited as a delayed job, polled, told the pods once, and revoked after they confirmed.
    const rollback = (await listSteps(db.pool, ended.id)).filter((s) => s.step === 'rollback');
    expect(rollback.length).toBeGreaterThan(2);
    expect(rollback.slice(0, -1).every((s) => s.status === 'waiting')).toBe(true);
    expect(rollback.at(-1)).toMatchObject({ status: 'succeeded', detail: { revoked: ended.newVersion, restored: old.versionId } });
    expect(rollback.at(-1)!.finishedAt!.getTime() - rollback[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(2_000);
    expect(rollback.some((s) => s.status === 'waiting' && typeof s.detail?.cachesClearAt === 'string')).toBe(true);
  });

  it('a consumer that never confirms the old version: the new credential is kept working and tracked, the consumer named; repair takes it back', async () => {
    const { secret, old } = await rotatedOnce(`pg/stuck-${backend}`, ['g', 'h'], [pods('stuck-pods', 300)]);
    const ended = await rotate(secret.id);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rollback-unconfirmed' });
    expect(ended.error).toContain(
      `rollback kept version ${ended.newVersion} working: consumer stuck-pods (restarting) did not confirm the old version ${old.versionId} within 300ms (its confirmTimeout)`,
    );
    expect(ended.error).toContain(`rotor repair ${secret.id}`);
    const kept = (await store.getVersion(secret.id, ended.newVersion!))!.value;
    expect(await login(db, kept.username, kept.password)).toBe(true);
    expect(await login(db, old.value.username, old.value.password)).toBe(true);
    expect((await store.get(secret.id, 'CURRENT'))!.versionId).toBe(old.versionId);
    expect((await store.get(secret.id, 'PREVIOUS'))!.versionId).toBe(ended.newVersion);
    expect(backs.has(ended.id)).toBe(false);

    // No rotation pushes it out of the store while it works: refused at create, nothing changed.
    const refused = await rotate(secret.id);
    expect(refused).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(refused.error).toContain(`run ${ended.id} rolled back without revoking it`);
    expect((await store.get(secret.id, 'PREVIOUS'))!.versionId).toBe(ended.newVersion);
    expect(await login(db, kept.username, kept.password)).toBe(true);

    // The pods are fixed: repair revokes it and clears it from the store; CURRENT goes on working.
    const deps = { pool: db.pool, store: () => store, rotator: rotatorFor, resolveRef: async () => db.url };
    expect(await repairSecret(deps, secret.id, 'test')).toEqual({
      repaired: true,
      clearedVersion: ended.newVersion,
      stage: 'PREVIOUS',
      keptBy: ended.id,
    });
    expect(await login(db, kept.username, kept.password)).toBe('28P01');
    expect(await login(db, old.value.username, old.value.password)).toBe(true);
    expect(await store.get(secret.id, 'PREVIOUS')).toBeNull();
    expect(await repairSecret(deps, secret.id, 'test')).toMatchObject({ repaired: false });
  });

  it('a forced emergency waits for each wave up to its confirmTimeout, then goes on: the old credential refused, the new one working, the consumers recorded', async () => {
    // Unforced, the first of these consumers would make the run roll back after a second.
    const stubborn = (name: string, wave: number) => ({
      name,
      type: 'stubborn',
      wave,
      cacheTtlMs: undefined,
      confirmTimeoutMs: 1_000,
      params: {},
    });
    const { secret, old } = await rotatedOnce(`pg/forced-${backend}`, ['i', 'j'], [stubborn('batch-a', 1), stubborn('batch-b', 2)]);
    const { id } = await requestRotation(db.pool, kit, {
      secretId: secret.id,
      trigger: 'emergency',
      actor: 'test',
      reason: 'key leaked',
      force: true,
    });
    const ended = await waitForRunEnd(db.pool, id, 20_000);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated', force: true });
    expect(await login(db, old.value.username, old.value.password)).toBe('28P01');
    const fresh = (await store.get(secret.id, 'CURRENT'))!;
    expect(fresh.versionId).toBe(ended.newVersion);
    expect(await login(db, fresh.value.username, fresh.value.password)).toBe(true);
    // The waves still went one after the other: wave 2 was told only once wave 1's time was up.
    const [a, b] = await runConsumers(db.pool, id);
    expect([a!.consumer, b!.consumer]).toEqual(['batch-a', 'batch-b']);
    expect(b!.notifiedAt!.getTime() - a!.notifiedAt!.getTime()).toBeGreaterThanOrEqual(1_000);
    expect(a!.confirmedAt).toBeNull();
    // Each consumer step says whom it went on without; distribute waited for each wave first.
    const steps = await listSteps(db.pool, id);
    const distribute = steps.filter((s) => s.step === 'distribute');
    expect(distribute.at(-1)).toMatchObject({ status: 'succeeded', detail: { forced: true, unconfirmed: ['batch-a', 'batch-b'] } });
    expect(distribute.filter((s) => s.status === 'waiting').map((s) => s.detail?.wave)).toEqual(expect.arrayContaining([1, 2]));
    expect(steps.filter((s) => s.step === 'verify-consumers')).toEqual([
      expect.objectContaining({
        status: 'succeeded',
        detail: expect.objectContaining({ forced: true, unconfirmed: ['batch-a', 'batch-b'] }),
      }),
    ]);
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
