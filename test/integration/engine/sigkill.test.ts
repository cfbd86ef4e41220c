import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { migrate } from '../../../src/state/migrate.js';
import { listRuns, listSteps } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';
import { killWorker, spawnWorker as spawnChild, type WorkerHandle } from '../../helpers/worker-child.js';

const WORKER = new URL('./worker-process.ts', import.meta.url).pathname;

/** Every step boundary, and a moment inside every step that has effects. */
const KILL_POINTS = [
  'inside:create',
  'after:create',
  'inside:verify-new',
  'after:verify-new',
  'inside:promote',
  'after:promote',
  'inside:distribute',
  'after:distribute',
  'inside:grace',
  'after:grace',
  'inside:verify-consumers',
  'after:verify-consumers',
  'inside:revoke',
  'after:revoke',
];

const spawnWorker = (env: Record<string, string>) => spawnChild(WORKER, env);

const kill = killWorker;

describe('a worker killed with SIGKILL', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let dir: string;
  const workers: WorkerHandle[] = [];
  const key = randomBytes(32);

  beforeAll(async () => {
    db = await createTestDatabase('sigkill');
    await migrate(db.pool);
    await db.pool.query(
      'create role kill_app nologin; create role kill_a login in role kill_app; create role kill_b login in role kill_app',
    );
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    dir = await mkdtemp(join(tmpdir(), 'rotor-sigkill-'));
  });

  afterAll(async () => {
    for (const w of workers) await kill(w);
    await kit?.close();
    await db?.pool.query('drop role if exists kill_a; drop role if exists kill_b; drop role if exists kill_app').catch(() => undefined);
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('at every step boundary and inside every step: a new worker finishes the run, once, with one working CURRENT', async () => {
    const secret = secretFixture('kill/app-db', {
      // Long enough to outlast the kills between promote and grace, so the run is seen waiting in it.
      graceMs: 20_000,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      rotator: {
        name: 'postgres',
        params: {
          strategy: 'alternating-users',
          target: {
            host: db.host,
            port: db.port,
            database: db.name,
            users: ['kill_a', 'kill_b'],
            group: 'kill_app',
            admin: 'env:KILL_ADMIN_URL',
            sslmode: 'disable',
          },
        },
      },
      consumers: [
        {
          name: 'app-env',
          type: 'env-file',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 30_000,
          params: { path: join(dir, 'app.env') },
        },
      ],
    });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: () => 'pg', nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const env = { DATABASE_URL: db.url, MASTER_KEY: key.toString('hex'), KILL_ADMIN_URL: db.url };

    // A first, undisturbed rotation gives the secret an old credential to protect.
    workers.push(await spawnWorker({ ...env, KILL_AT: 'none' }));
    const boot = await waitForRunEnd(
      db.pool,
      (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id,
      30_000,
    );
    expect(boot.state).toBe('done');
    const store = createLocalStore({ pool: db.pool, key });
    const old = (await store.get(secret.id, 'CURRENT'))!;
    await kill(workers.at(-1)!);

    workers.push(await spawnWorker({ ...env, KILL_AT: KILL_POINTS[0]! }));
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    const killedAt: string[] = [];
    for (const [i, point] of KILL_POINTS.entries()) {
      const current = workers.at(-1)!;
      if (point === 'inside:grace') {
        // Grace is a delayed job: the run waits with no worker holding it.
        await waitFor(async () => (await listSteps(db.pool, run.id)).some((s) => s.step === 'grace' && s.status === 'waiting'), {
          timeoutMs: 30_000,
          message: point,
        });
      } else {
        await waitFor(() => current.output.includes(`at ${point}`), { timeoutMs: 30_000, message: `worker reaching ${point}` });
      }
      await kill(current);
      killedAt.push(point);
      workers.push(await spawnWorker({ ...env, KILL_AT: KILL_POINTS[i + 1] ?? 'none' }));
    }
    const ended = await waitForRunEnd(db.pool, run.id, 60_000);
    expect(killedAt).toEqual(KILL_POINTS);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
    const versions = await store.describe(secret.id);
    expect(versions.filter((v) => v.stages.includes('CURRENT'))).toHaveLength(1);
    expect(versions.filter((v) => v.stages.includes('PENDING'))).toHaveLength(0);
    const current = (await store.get(secret.id, 'CURRENT'))!;
    expect(current.versionId).toBe(ended.newVersion);
    expect(await login(db, String(current.value.username), String(current.value.password))).toBe(true);
    expect(await login(db, String(old.value.username), String(old.value.password))).toBe('28P01');
    expect(await listRuns(db.pool, secret.id)).toHaveLength(2);
  }, 240_000);
});
