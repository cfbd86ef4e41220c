// The SIGKILL suite for the mysql rotator on a private MariaDB: a worker killed at every step
// boundary, inside every step with effects, and inside apply and revoke (after the ALTER USER, before
// the engine records the step), for dual-password and alternating users. Each time a new worker
// finishes the run, once, and exactly one credential works afterwards: the new one.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { KILL_STEPS, killPoints } from '../../helpers/kill-points.js';
import { startMariadbServer, type MariadbServerHandle } from '../../helpers/mariadb-server.js';
import { mysqlLogin } from '../../helpers/mysql-login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { killWorker, type WorkerHandle } from '../../helpers/worker-child.js';
import { secretFixture } from './fixtures.js';
import { ENGINE_WORKER, bootRotation, expectConverged, killAtEachPoint } from './kill-loop.js';

/** In the order a run meets them. `applied:*` fall inside apply and revoke, after the server changed. */
const KILL_POINTS = killPoints({ inside: KILL_STEPS, within: { create: ['applied:create'], revoke: ['applied:revoke'] } });

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
    for (const w of workers) await killWorker(w);
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
        // Outlasts the kills before grace, so the run is seen waiting in it; then it ends at once (endGrace).
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
      const rig = {
        pool: db.pool,
        kit,
        script: ENGINE_WORKER,
        env: { DATABASE_URL: db.url, MASTER_KEY: key.toString('hex'), KILL_MYSQL_ADMIN: maria.url, ROTATOR: 'mysql' },
        workers,
      };

      await bootRotation(rig, secret.id, 30_000, { endGrace: true });
      const store = createLocalStore({ pool: db.pool, key });
      const old = (await store.get(secret.id, 'CURRENT'))!;
      const ended = await killAtEachPoint(rig, secret.id, points, {
        endGrace: true,
        async atPoint(point) {
          // Whatever the moment, the credential the store calls CURRENT logs in.
          const now = (await store.get(secret.id, 'CURRENT'))!.value;
          expect(await mysqlLogin(maria, now), `CURRENT at ${point}`).toBe('ok');
        },
      });
      await expectConverged(rig, store, secret.id, secret.id, ended);
      const current = (await store.get(secret.id, 'CURRENT'))!;
      expect(await mysqlLogin(maria, current.value)).toBe('ok');
      expect(await mysqlLogin(maria, old.value)).toBe(1045);
    },
    240_000,
  );
});
