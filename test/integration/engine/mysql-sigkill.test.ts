// The SIGKILL suite for the mysql rotator on a private MariaDB: a worker killed at every step
// boundary, inside every step with effects, and inside apply and revoke (after the ALTER USER, before
// the engine records the step), for dual-password and alternating users. Each time a new worker
// finishes the run, once, and exactly one credential works afterwards: the new one.
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
import { startMariadbServer, type MariadbServerHandle } from '../../helpers/mariadb-server.js';
import { mysqlLogin } from '../../helpers/mysql-login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';
import { killWorker, spawnWorker as spawnChild, type WorkerHandle } from '../../helpers/worker-child.js';

const WORKER = new URL('./worker-process.ts', import.meta.url).pathname;

/** In the order a run meets them. `applied:*` fall inside apply and revoke, after the server changed. */
const KILL_POINTS = [
  'inside:create',
  'applied:create',
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
  'applied:revoke',
  'after:revoke',
];

const spawnWorker = (env: Record<string, string>) => spawnChild(WORKER, env);

const kill = killWorker;

describe('a mysql-rotating worker killed with SIGKILL', () => {
  let db: TestDatabase;
  let maria: MariadbServerHandle;
  let kit: QueueKit;
  let dir: string;
  const workers: WorkerHandle[] = [];
  const key = randomBytes(32);

  beforeAll(async () => {
    maria = await startMariadbServer();
    db = await createTestDatabase('mysql_sigkill');
    await migrate(db.pool);
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    dir = await mkdtemp(join(tmpdir(), 'rotor-mysql-sigkill-'));
  });

  afterAll(async () => {
    for (const w of workers) await kill(w);
    await kit?.close();
    await db?.drop();
    await maria?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    // Dual password has no drain (sessions cannot be told apart), so verify-consumers never asks inUse.
    ['dual-password', { user: 'kill_dual' }, KILL_POINTS.filter((p) => p !== 'inside:verify-consumers')],
    ['alternating-users', { users: ['kill_a', 'kill_b'], role: 'kill_role' }, KILL_POINTS],
  ] as const)(
    '%s: a new worker finishes the run, once, with exactly the new credential working',
    async (strategy, accounts, points) => {
      const secret = secretFixture(`kill/mysql-${strategy}`, {
        graceMs: 20_000,
        retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
        rotator: {
          name: 'mysql',
          params: { strategy, target: { host: maria.host, port: maria.port, admin: 'env:KILL_MYSQL_ADMIN', provision: true, ...accounts } },
        },
        consumers: [
          {
            name: 'app-env',
            type: 'env-file',
            wave: 1,
            cacheTtlMs: undefined,
            confirmTimeoutMs: 30_000,
            params: { path: join(dir, `${strategy}.env`) },
          },
        ],
      });
      await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
      const env = { DATABASE_URL: db.url, MASTER_KEY: key.toString('hex'), KILL_MYSQL_ADMIN: maria.url, ROTATOR: 'mysql' };

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

      workers.push(await spawnWorker({ ...env, KILL_AT: points[0]! }));
      const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
      const killedAt: string[] = [];
      for (const [i, point] of points.entries()) {
        const current = workers.at(-1)!;
        if (point === 'inside:grace') {
          await waitFor(async () => (await listSteps(db.pool, run.id)).some((s) => s.step === 'grace' && s.status === 'waiting'), {
            timeoutMs: 30_000,
            message: point,
          });
        } else {
          await waitFor(() => current.output.includes(`at ${point}`), { timeoutMs: 30_000, message: `worker reaching ${point}` });
        }
        // Whatever the moment, the credential the store calls CURRENT logs in.
        const now = (await store.get(secret.id, 'CURRENT'))!.value;
        expect(await mysqlLogin(maria, now), `CURRENT at ${point}`).toBe('ok');
        await kill(current);
        killedAt.push(point);
        workers.push(await spawnWorker({ ...env, KILL_AT: points[i + 1] ?? 'none' }));
      }
      const ended = await waitForRunEnd(db.pool, run.id, 60_000);
      expect(killedAt).toEqual(points);
      expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
      const versions = await store.describe(secret.id);
      expect(versions.filter((v) => v.stages.includes('CURRENT'))).toHaveLength(1);
      expect(versions.filter((v) => v.stages.includes('PENDING'))).toHaveLength(0);
      const current = (await store.get(secret.id, 'CURRENT'))!;
      expect(current.versionId).toBe(ended.newVersion);
      expect(await mysqlLogin(maria, current.value)).toBe('ok');
      expect(await mysqlLogin(maria, old.value)).toBe(1045);
      expect(await listRuns(db.pool, secret.id)).toHaveLength(2);
      await kill(workers.at(-1)!);
    },
    240_000,
  );
});
