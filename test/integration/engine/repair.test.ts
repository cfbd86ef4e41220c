import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairSecret } from '../../../src/engine/repair.js';
import { requestRotation } from '../../../src/engine/request.js';
import { InvalidInputError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { listAudit } from '../../../src/state/audit.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';

describe('rotor repair', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;

  beforeAll(async () => {
    db = await createTestDatabase('repair');
    await migrate(db.pool);
    await db.pool.query('create role rp_app nologin; create role rp_a login in role rp_app; create role rp_b login in role rp_app');
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    await loadRotators(['postgres']);
    store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { local: store },
      resolveRef: async () => db.url,
      nextDue: (_s, l) => new Date(l.getTime() + 86_400_000),
      pollMs: 50,
    });
  });

  /** The secret both tests rotate: alternating users rp_a/rp_b on the test database. */
  const alternatingSecret = (id: string, graceMs: number) =>
    secretFixture(id, {
      graceMs,
      rotator: {
        name: 'postgres',
        params: {
          strategy: 'alternating-users',
          target: {
            host: db.host,
            port: db.port,
            database: db.name,
            users: ['rp_a', 'rp_b'],
            group: 'rp_app',
            admin: 'env:X',
            sslmode: 'disable',
          },
        },
      },
    });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.pool.query('drop role if exists rp_a; drop role if exists rp_b; drop role if exists rp_app').catch(() => undefined);
    await db?.drop();
  });

  it('clears a PENDING left by an unfinished rotation, which blocked the next one; then rotation succeeds', async () => {
    const secret = alternatingSecret('repair/db', 50);
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const rotate = async () =>
      waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id);
    expect((await rotate()).state).toBe('done');
    const current = (await store.get(secret.id, 'CURRENT'))!;

    // What a rotation that died after create leaves: a staged credential that works on the target.
    const rotator = rotatorFor('postgres');
    const ctx = {
      secretId: secret.id,
      runId: 'lost',
      params: rotator.paramsSchema.parse(secret.rotator.params),
      resolveRef: async () => db.url,
      log: silentLogger,
      signal: new AbortController().signal,
    };
    const dangling = await rotator.generate(ctx, current.value);
    await store.putPending(secret.id, 'lost-run-1', dangling);
    await rotator.apply(ctx, dangling, current.value);
    expect(await login(db, dangling.username, dangling.password)).toBe(true);

    const blocked = await rotate();
    expect(blocked).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(blocked.error).toContain('rotor repair repair/db');
    expect(await login(db, current.value.username, current.value.password)).toBe(true);

    const deps = { pool: db.pool, store: () => store, rotator: rotatorFor, resolveRef: async () => db.url };
    expect(await repairSecret(deps, secret.id, 'cli:alice')).toEqual({ repaired: true, clearedVersion: 'lost-run-1', stage: 'PENDING' });
    expect(await store.get(secret.id, 'PENDING')).toBeNull();
    expect(await login(db, dangling.username, dangling.password)).toBe('28P01');
    expect(await login(db, current.value.username, current.value.password)).toBe(true);
    expect(
      (await listAudit(db.pool, { secretId: secret.id })).some((a) => a.action === 'repair.pending-cleared' && a.actor === 'cli:alice'),
    ).toBe(true);
    expect(await repairSecret(deps, secret.id, 'cli:alice')).toMatchObject({ repaired: false });

    expect((await rotate()).state).toBe('done');
  });

  it("takes back a first rotation's staged credential on the target (no CURRENT to keep) before it clears it", async () => {
    const secret = alternatingSecret('repair/first', 50);
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    // What a secret's first run that died after create leaves: a credential that works, PENDING only.
    const rotator = rotatorFor('postgres');
    const params = rotator.paramsSchema.parse(secret.rotator.params);
    const ctx = {
      secretId: secret.id,
      runId: 'lost-first',
      params,
      resolveRef: async () => db.url,
      log: silentLogger,
      signal: new AbortController().signal,
    };
    const dangling = await rotator.generate(ctx, null);
    await store.putPending(secret.id, 'lost-first-1', dangling);
    await rotator.apply(ctx, dangling, null);
    expect(await login(db, dangling.username, dangling.password)).toBe(true);
    const deps = { pool: db.pool, store: () => store, rotator: rotatorFor, resolveRef: async () => db.url };
    expect(await repairSecret(deps, secret.id, 'cli:alice')).toEqual({ repaired: true, clearedVersion: 'lost-first-1', stage: 'PENDING' });
    expect(await login(db, dangling.username, dangling.password)).toBe('28P01');
    expect(await store.get(secret.id, 'PENDING')).toBeNull();
  });

  it('refuses to touch a secret whose run is still active', async () => {
    const secret = alternatingSecret('repair/busy', 60_000);
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    await db.pool.query("insert into runs (id, secret_id, trigger, actor) values (gen_random_uuid(), 'repair/busy', 'manual', 'test')");
    await expect(
      repairSecret({ pool: db.pool, store: () => store, rotator: rotatorFor, resolveRef: async () => db.url }, secret.id, 'cli:alice'),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });
});
