// The demo consumer app under real rotations: the runtime, the postgres rotator (alternating users)
// and the webhook consumer, with the app logging in afresh all the time. Also how `npm start`
// wires the app in (startDemoConsumer).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerApp, type ConsumerApp } from '../../../examples/consumer-app/app.js';
import { signRequest } from '../../../src/consumers/signing.js';
import { DEMO_APP_SECRET, DEMO_WEBHOOK_KEY_ENV, ensureDemoWebhookKey, startDemoConsumer } from '../../../src/embedded/demo-consumer.js';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedConsumer } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { login } from '../../helpers/login.js';
import { freePort } from '../../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture, waitForRunEnd } from '../engine/fixtures.js';

describe('the demo consumer app under real rotations', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  let app: ConsumerApp;
  const hookKey = randomBytes(32).toString('base64url');
  const key = randomBytes(32);
  const p = `car_${randomBytes(3).toString('hex')}`;
  const secretId = 'demo/rotated-app';

  beforeAll(async () => {
    db = await createTestDatabase('consumer_rotation');
    await migrate(db.pool);
    await db.pool.query(`create role ${p} nologin; create role ${p}_a login in role ${p}; create role ${p}_b login in role ${p}`);
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    await loadRotators(['postgres']);
    store = createLocalStore({ pool: db.pool, key });
    // One connection per statement: every check is a new login with the credential the app holds.
    app = await createConsumerApp({
      secretId,
      store: createLocalStore({ pool: db.pool, key }),
      webhookKey: hookKey,
      pool: { max: 1, maxUses: 1 },
    });
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { local: store },
      resolveRef: async (ref) => (ref === 'env:HOOK_KEY' ? hookKey : db.url),
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      pollMs: 50,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await app?.close();
    await db?.pool.query(`drop role if exists ${p}_a; drop role if exists ${p}_b; drop role if exists ${p}`).catch(() => undefined);
    await db?.drop();
  });

  it('reloads on every rotation; no login fails while rotor revokes the old credential behind it', async () => {
    const consumer: ResolvedConsumer = {
      name: 'demo-app',
      type: 'webhook',
      wave: 1,
      cacheTtlMs: undefined,
      confirmTimeoutMs: 10_000,
      params: { url: `${app.url}/rotor/reload`, verify: `${app.url}/rotor/version`, secret: 'env:HOOK_KEY', timeout: '5s' },
    };
    const secret = secretFixture(secretId, {
      graceMs: 500,
      drain: { mode: 'wait', timeoutMs: 10_000 },
      rotator: {
        name: 'postgres',
        params: {
          strategy: 'alternating-users',
          target: {
            host: db.host,
            port: db.port,
            database: db.name,
            admin: 'env:ADMIN',
            sslmode: 'disable',
            users: [`${p}_a`, `${p}_b`],
            group: p,
          },
        },
      },
      consumers: [consumer],
    });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const rotate = async () =>
      (await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId, trigger: 'manual', actor: 'test' })).id, 30_000))
        .state;

    expect(await rotate()).toBe('done');
    const first = (await store.get(secretId, 'CURRENT'))!;
    expect(app.version()).toBe(first.versionId);

    let running = true;
    let attempts = 0;
    const failures: string[] = [];
    const load = (async () => {
      while (running) {
        attempts++;
        const h = await app.check();
        if (!h.ok) failures.push(`${h.code}: ${h.reason}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    expect(await rotate()).toBe('done');
    expect(await rotate()).toBe('done');
    running = false;
    await load;

    const last = (await store.get(secretId, 'CURRENT'))!;
    expect(failures).toEqual([]);
    expect(attempts).toBeGreaterThan(20);
    expect(app.version()).toBe(last.versionId);
    // Two rotations later the first user is back in use with a new password; the second one's
    // credential (the one before last) was revoked while the app ran on.
    expect(last.value.username).toBe(first.value.username);
    expect(await login(db, first.value.username, first.value.password)).toBe('28P01');
    expect(await login(db, last.value.username, last.value.password)).toBe(true);
    const confirmations = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from run_consumers c join runs r on r.id = c.run_id
        where r.secret_id = $1 and c.consumer = 'demo-app' and c.confirmed_at is not null and c.confirmed_at <= r.finished_at`,
      [secretId],
    );
    expect(confirmations.rows[0]!.n).toBe(3);
  });
});

describe('startDemoConsumer (npm start)', () => {
  let db: TestDatabase;
  let home: string;
  const saved = process.env[DEMO_WEBHOOK_KEY_ENV];

  beforeAll(async () => {
    db = await createTestDatabase('demo_consumer');
    await migrate(db.pool);
    home = await mkdtemp(join(tmpdir(), 'rotor-demo-app-'));
    delete process.env[DEMO_WEBHOOK_KEY_ENV];
  });

  afterAll(async () => {
    if (saved === undefined) delete process.env[DEMO_WEBHOOK_KEY_ENV];
    else process.env[DEMO_WEBHOOK_KEY_ENV] = saved;
    await rm(home, { recursive: true, force: true });
    await db?.drop();
  });

  const demoSecret = (id: string, port: number) =>
    secretFixture(id, {
      consumers: [
        {
          name: 'demo-app',
          type: 'webhook',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 10_000,
          params: { url: `http://127.0.0.1:${port}/rotor/reload`, secret: `env:${DEMO_WEBHOOK_KEY_ENV}` },
        },
      ],
    });

  it('runs the app on the port the demo policy names, with the generated key, and stops it', async () => {
    ensureDemoWebhookKey();
    const hookKey = process.env[DEMO_WEBHOOK_KEY_ENV]!;
    expect(hookKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const port = await freePort();
    const stop = await startDemoConsumer({
      secrets: [demoSecret(DEMO_APP_SECRET, port)],
      stateUrl: db.url,
      rotorHome: home,
      log: silentLogger,
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      // Never rotated yet: no credential, said plainly.
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'error', version: null, error: expect.stringMatching(/no CURRENT version/) });
      const version = await fetch(`${base}/rotor/version?secret=${encodeURIComponent(DEMO_APP_SECRET)}`, {
        headers: signRequest(hookKey, {
          method: 'GET',
          url: `/rotor/version?secret=${encodeURIComponent(DEMO_APP_SECRET)}`,
          delivery: randomUUID(),
          body: '',
        }),
      });
      expect(await version.json()).toEqual({ version: null });
      const forged = await fetch(`${base}/rotor/version?secret=${encodeURIComponent(DEMO_APP_SECRET)}`, {
        headers: signRequest('not-the-key', {
          method: 'GET',
          url: `/rotor/version?secret=${encodeURIComponent(DEMO_APP_SECRET)}`,
          delivery: randomUUID(),
          body: '',
        }),
      });
      expect(forged.status).toBe(401);
    } finally {
      await stop();
    }
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('starts nothing for policies without the demo secret', async () => {
    const port = await freePort();
    const stop = await startDemoConsumer({
      secrets: [demoSecret('payments/db', port)],
      stateUrl: db.url,
      rotorHome: home,
      log: silentLogger,
    });
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    await stop();
  });
});
