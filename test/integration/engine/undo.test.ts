// What a failed run leaves behind on the target: never a credential that works and that nobody
// tracks (docs/design.md, invariant 8). A run that fails after its create step applied the new
// credential undoes it (the rotator's revoke, with nothing of rotor's to keep on a first rotation),
// whether create itself, verify-new or promote failed; a first rotation rolled back after promote
// keeps its credential CURRENT, since there is nothing to return to, and leaves what the target had
// before rotor to the next run's revoke step (invariant 7). On the memory target, on PostgreSQL
// roles and on a Redis ACL user, checked by logging in.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from '../../../src/consumers/contract.js';
import { requestRotation } from '../../../src/engine/request.js';
import { PermanentError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import type { Rotator, SecretValue } from '../../../src/rotator/contract.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { planEntry } from '../../../src/policy/plan.js';
import { listSteps, type RunRow } from '../../../src/state/runs.js';
import { lastSuccessesOf, syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis.js';
import { TEST_TIMINGS, secretFixture, waitForRunEnd } from './fixtures.js';
import { createMemoryTarget, memoryRotator, type MemoryTarget } from './memory-target.js';

/** Told the new version, never confirms it: the run rolls back after promote. */
const stubborn: Consumer<unknown> = { type: 'stubborn', carriesValue: false, notify: async () => undefined, confirm: async () => null };

describe('a failed run undoes what its create step applied', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  let target: MemoryTarget;
  let failPromote = false;
  let redis: RedisServerHandle | undefined;
  const redisAdmin = randomBytes(12).toString('hex');
  const suffix = randomBytes(3).toString('hex');
  const roles = [`undo_${suffix}_g`, `undo_${suffix}_a`, `undo_${suffix}_b`, `undo_${suffix}_s`] as const;

  beforeAll(async () => {
    db = await createTestDatabase('undo');
    await migrate(db.pool);
    const [group, a, b, single] = roles.map((r) => pg.escapeIdentifier(r));
    await db.pool.query(
      `create role ${group} nologin; create role ${a} login in role ${group}; create role ${b} login in role ${group}; create role ${single} login`,
    );
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    await loadRotators(['postgres', 'redis-acl']);
    const postgres = rotatorFor('postgres');
    target = createMemoryTarget();
    store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
    // A store whose promote fails while asked to: the run fails at promote, before consumers hear of it.
    const flaky: SecretStore = {
      ...store,
      backend: 'flaky',
      promote: async (location, versionId) => {
        if (failPromote) throw new Error('the store is unavailable');
        return store.promote(location, versionId);
      },
    };
    const refuse = (what: string) => async () => {
      throw new PermanentError(`${what} (injected)`);
    };
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { local: store, flaky },
      rotators: {
        memory: memoryRotator(target),
        // The memory target, where removing what it had before rotor is refused (an API that will not delete a key).
        'memory-inherited-refused': {
          ...memoryRotator(target),
          name: 'memory-inherited-refused',
          revokeInherited: refuse('removing what the target had before rotor refused'),
        } as Rotator<unknown>,
        // The memory target, where the old credential's revoke takes effect and then its connection is lost, every time.
        'memory-revoke-lost': {
          ...memoryRotator(target),
          name: 'memory-revoke-lost',
          async revoke(ctx: Parameters<Rotator<unknown>['revoke']>[0], revoke: SecretValue, keep: SecretValue | null) {
            await (memoryRotator(target) as Rotator<unknown>).revoke(ctx, revoke, keep);
            throw new Error('the connection was lost after the revoke (injected)');
          },
        } as Rotator<unknown>,
        // The real postgres rotator, with verify-new refused (a pg_hba rule against rotor's host, say) ...
        'postgres-verify-refused': { ...postgres, name: 'postgres-verify-refused', verify: refuse('verify refused') } as Rotator<unknown>,
        // ... or with apply refused before it changed anything.
        'postgres-apply-refused': { ...postgres, name: 'postgres-apply-refused', apply: refuse('apply refused') } as Rotator<unknown>,
      },
      consumers: { stubborn },
      resolveRef: async (ref) => (ref === 'env:REDIS_ADMIN' ? `redis://rotor-admin:${redisAdmin}@127.0.0.1:${redis!.port}` : db.url),
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      ...TEST_TIMINGS,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await redis?.stop();
    for (const r of roles.slice(1)) await db?.pool.query(`drop role if exists ${pg.escapeIdentifier(r)}`).catch(() => undefined);
    await db?.pool.query(`drop role if exists ${pg.escapeIdentifier(roles[0])}`).catch(() => undefined);
    await db?.drop();
  });

  async function rotate(secret: ResolvedSecret): Promise<RunRow> {
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    return waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id);
  }

  /** Every value the run's create attempts staged (`<runId>-<attempt>`), from the store's history. */
  async function staged(secret: ResolvedSecret, run: RunRow) {
    const versions = (await store.describe(secret.store.location)).filter((v) => v.versionId.startsWith(run.id));
    return Promise.all(versions.map(async (v) => (await store.getVersion(secret.store.location, v.versionId))!.value));
  }

  /** A memory secret on users of its own, the second of them with a password set by hand before rotor. */
  function memorySecret(tag: string, over: Partial<ResolvedSecret> = {}) {
    const users = [`${tag}_a`, `${tag}_b`];
    const byHand = { username: users[1]!, password: `by-hand-${tag}` };
    target.accepted.set(byHand.username, new Set([byHand.password]));
    return { secret: secretFixture(`undo/${tag}`, { rotator: { name: 'memory', params: { users } }, ...over }), byHand };
  }

  it('a first rotation that fails at verify-new: its credential stops working, what the target had before stays', async () => {
    const { secret, byHand } = memorySecret('first_verify');
    target.failing.add('verify');
    let ended: RunRow;
    try {
      ended = await rotate(secret);
    } finally {
      target.failing.delete('verify');
    }
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    const values = await staged(secret, ended);
    expect(values).toHaveLength(1);
    expect(values.map((v) => target.works(v))).toEqual([false]);
    expect(target.works(byHand)).toBe(true);
    expect(await store.get(secret.store.location, 'PENDING')).toBeNull();
    expect(await store.get(secret.store.location, 'CURRENT')).toBeNull();
  });

  it('a create whose apply took effect and then failed, every attempt: each staged credential is undone (a later rotation)', async () => {
    const { secret } = memorySecret('apply_lost');
    expect(await rotate(secret)).toMatchObject({ state: 'done' });
    const old = (await store.get(secret.store.location, 'CURRENT'))!;
    target.failing.add('apply-after');
    let ended: RunRow;
    try {
      ended = await rotate(secret);
    } finally {
      target.failing.delete('apply-after');
    }
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(ended.error).toContain('create failed after 3 attempts');
    const values = await staged(secret, ended);
    expect(values).toHaveLength(3);
    expect(values.map((v) => target.works(v))).toEqual([false, false, false]);
    expect(target.works(old.value)).toBe(true);
    expect((await store.get(secret.store.location, 'CURRENT'))!.versionId).toBe(old.versionId);
    expect(await store.get(secret.store.location, 'PENDING')).toBeNull();
  });

  it('a first rotation whose promote failed: rolled back by undoing the credential, nothing left PENDING', async () => {
    const { secret, byHand } = memorySecret('first_promote', { store: { backend: 'flaky', location: 'undo/first_promote', params: {} } });
    failPromote = true;
    let ended: RunRow;
    try {
      ended = await rotate(secret);
    } finally {
      failPromote = false;
    }
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    expect(ended.error).toContain('promote failed');
    expect((await staged(secret, ended)).map((v) => target.works(v))).toEqual([false]);
    expect(target.works(byHand)).toBe(true);
    expect(await store.get(secret.store.location, 'PENDING')).toBeNull();
    expect(await store.get(secret.store.location, 'CURRENT')).toBeNull();
  });

  it('a first rotation rolled back after promote keeps its credential CURRENT and working: there is nothing to return to', async () => {
    const { secret, byHand } = memorySecret('first_rollback', {
      consumers: [{ name: 'batch', type: 'stubborn', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 200, params: {} }],
    });
    const ended = await rotate(secret);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    const current = (await store.get(secret.store.location, 'CURRENT'))!;
    expect(current.versionId).toBe(ended.newVersion);
    expect(target.works(current.value)).toBe(true);
    expect(target.works(byHand)).toBe(true);
    const rollback = (await listSteps(db.pool, ended.id)).find((s) => s.step === 'rollback' && s.status === 'succeeded')!;
    expect(rollback.detail).toMatchObject({ keptCurrent: ended.newVersion });
  });

  it('redis-acl: after a first rotation rolled back after promote, the next rotation revokes the password set by hand', async () => {
    redis = await startRedisServer();
    const byHand = { username: 'app', password: `by-hand-${randomBytes(9).toString('hex')}` };
    const c = new Redis(redis.port, '127.0.0.1');
    await c.call('ACL', 'SETUSER', 'rotor-admin', 'on', `>${redisAdmin}`, '+@all', '~*');
    await c.call('ACL', 'SETUSER', 'app', 'on', `>${byHand.password}`, '~app:*', '+@read', '+ping');
    c.disconnect();
    const target = { user: 'app', nodes: [{ host: '127.0.0.1', port: redis.port }], admin: 'env:REDIS_ADMIN' };
    const secret = (over: Partial<ResolvedSecret> = {}) =>
      secretFixture('undo/redis-first-rollback', { rotator: { name: 'redis-acl', params: { target } }, ...over });
    const flagged = async () => {
      const last = (await lastSuccessesOf(db.pool, [secret().id])).get(secret().id)!.lastSuccessAt;
      return planEntry(secret(), new Date(), last).flags.some((f) => f.flag === 'revokes-inherited');
    };
    const works = (v: { username?: unknown; password?: unknown }) => redisLogin(redis!, v);

    // The first rotation: promoted, then rolled back (a consumer never confirmed). Its credential stays CURRENT.
    const stubbornConsumer = { name: 'batch', type: 'stubborn', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 200, params: {} };
    const first = await rotate(secret({ consumers: [stubbornConsumer] }));
    expect(first).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    const kept = (await store.get(secret().store.location, 'CURRENT'))!;
    expect(kept.versionId).toBe(first.newVersion);
    expect([await works(kept.value), await works(byHand)]).toEqual(['ok', 'ok']);
    // Never rotated yet: plan still says the next rotation revokes what the target had before rotor.
    expect(await flagged()).toBe(true);

    // The next rotation has an old version (the kept one) and is still the secret's first success.
    const second = await rotate(secret());
    expect(second).toMatchObject({ state: 'done', outcome: 'rotated', oldVersion: first.newVersion });
    const current = (await store.get(secret().store.location, 'CURRENT'))!;
    expect([await works(current.value), await works(kept.value), await works(byHand)]).toEqual(['ok', 'WRONGPASS', 'WRONGPASS']);
    const revoked = (await listSteps(db.pool, second.id)).find((s) => s.step === 'revoke' && s.status === 'succeeded')!;
    // Every hash but rotor's new one: the hand-set password, and the old one with it.
    expect(revoked.detail).toMatchObject({ inheritedRevoked: expect.any(Number) as number });
    expect(await flagged()).toBe(false);
  });

  it('a target that refuses to give up what it had before rotor fails the revoke step before the old credential goes: the rollback returns to one that works', async () => {
    const { secret } = memorySecret('inherited_refused', {
      consumers: [{ name: 'batch', type: 'stubborn', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 200, params: {} }],
    });
    const first = await rotate(secret);
    expect(first).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    const kept = (await store.get(secret.store.location, 'CURRENT'))!;
    const second = await rotate({
      ...secret,
      consumers: [],
      rotator: { ...secret.rotator, name: 'memory-inherited-refused' },
      hash: `${secret.hash}-refused`,
    });
    expect(second).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back', oldVersion: kept.versionId });
    expect(second.error).toContain('revoke failed');
    expect((await store.get(secret.store.location, 'CURRENT'))!.versionId).toBe(kept.versionId);
    expect(target.works(kept.value)).toBe(true);
  });

  it('a revoke that took effect and then failed: the rollback finds the old credential gone and keeps the new one CURRENT, instead of handing consumers a dead one', async () => {
    const { secret } = memorySecret('revoke_lost');
    const first = await rotate(secret);
    expect(first).toMatchObject({ state: 'done', outcome: 'rotated' });
    const old = (await store.get(secret.store.location, 'CURRENT'))!;
    const second = await rotate({ ...secret, rotator: { ...secret.rotator, name: 'memory-revoke-lost' }, hash: `${secret.hash}-lost` });
    expect(second).toMatchObject({ state: 'needs-attention', outcome: 'rollback-failed', oldVersion: old.versionId });
    expect(second.error).toContain(`version ${old.versionId} no longer works on the target`);
    expect(second.error).toContain(`Version ${second.newVersion} stays CURRENT`);
    const current = (await store.get(secret.store.location, 'CURRENT'))!;
    expect(current.versionId).toBe(second.newVersion);
    expect(target.works(current.value)).toBe(true);
    expect(target.works(old.value)).toBe(false);
    const steps = await listSteps(db.pool, second.id);
    expect(steps.filter((s) => s.step === 'revoke').every((s) => s.status === 'failed')).toBe(true);
    expect(steps.at(-1)).toMatchObject({ step: 'rollback', status: 'failed' });
    // Nothing is held back: the next rotation starts from the version kept.
    const third = await rotate({ ...secret, hash: `${secret.hash}-next` });
    expect(third).toMatchObject({ state: 'done', outcome: 'rotated', oldVersion: second.newVersion });
  });

  const pgTarget = () => ({ host: db.host, port: db.port, database: db.name, admin: 'env:ADMIN', sslmode: 'disable' });
  const setByHand = async (role: string) => {
    const password = `by-hand-${randomBytes(9).toString('hex')}`;
    await db.pool.query(`alter role ${pg.escapeIdentifier(role)} password ${pg.escapeLiteral(password)}`);
    return password;
  };

  it('postgres, alternating users: a first rotation refused at verify-new leaves its role without rotor password, the other role as it was', async () => {
    const [group, a, b] = roles;
    const beforeA = await setByHand(a);
    const beforeB = await setByHand(b);
    const secret = secretFixture(`undo/pg-alt-${suffix}`, {
      rotator: {
        name: 'postgres-verify-refused',
        params: { strategy: 'alternating-users', target: { ...pgTarget(), users: [a, b], group } },
      },
    });
    const ended = await rotate(secret);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    const [value] = await staged(secret, ended);
    expect(value!.username).toBe(a);
    // The first rotation gave role a rotor's password (apply replaced the one set by hand); undone, it logs in with neither.
    expect(await login(db, a, value!.password)).toBe('28P01');
    expect(await login(db, a, beforeA)).toBe('28P01');
    expect(await login(db, b, beforeB)).toBe(true);
    expect(await store.get(secret.store.location, 'PENDING')).toBeNull();
  });

  it('postgres, single user: a first rotation whose apply changed nothing leaves the password set by hand working', async () => {
    const single = roles[3];
    const before = await setByHand(single);
    const secret = secretFixture(`undo/pg-single-${suffix}`, {
      rotator: { name: 'postgres-apply-refused', params: { strategy: 'single-user', target: { ...pgTarget(), user: single } } },
    });
    const ended = await rotate(secret);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(await login(db, single, before)).toBe(true);
    expect(await store.get(secret.store.location, 'PENDING')).toBeNull();
  });
});

/** Logs in to the Redis node as an application would: 'ok' or the error code (WRONGPASS). */
async function redisLogin(s: RedisServerHandle, v: { username?: unknown; password?: unknown }): Promise<string> {
  const c = new Redis({ port: s.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.call('AUTH', String(v.username), String(v.password));
    return 'ok';
  } catch (err) {
    return (err as Error).message.split(' ')[0] ?? 'error';
  } finally {
    c.disconnect();
  }
}
