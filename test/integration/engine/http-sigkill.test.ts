// The http rotator's runs survive a worker killed with SIGKILL at every step boundary (and right
// after the provider deleted the old key, before the engine recorded it): a new worker finishes
// the run once, the provider holds exactly the new key, and the old one is refused. The token API
// example against the fake SaaS, which runs in this process; workers are separate processes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { targetKeyOf } from '../../../src/rotator/catalogue.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { startFakeSaas, type FakeSaas } from '../../helpers/fake-saas.js';
import { httpExampleSecret } from '../../helpers/http-examples.js';
import { killPoints } from '../../helpers/kill-points.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { killWorker, type WorkerHandle } from '../../helpers/worker-child.js';
import { ENGINE_WORKER, bootRotation, expectConverged, killAtEachPoint } from './kill-loop.js';

/** Every step boundary, and the moment the provider deleted the old key but the step is not recorded. */
const KILL_POINTS = killPoints({ within: { revoke: ['applied:revoke'] } });

describe('an http rotator run whose worker is killed with SIGKILL', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let saas: FakeSaas;
  let dir: string;
  const workers: WorkerHandle[] = [];
  const key = randomBytes(32);

  beforeAll(async () => {
    db = await createTestDatabase('http_sigkill');
    await migrate(db.pool);
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    saas = await startFakeSaas();
    dir = await mkdtemp(join(tmpdir(), 'rotor-http-sigkill-'));
  });

  afterAll(async () => {
    for (const w of workers) await killWorker(w);
    await kit?.close();
    await saas?.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('at every step boundary: a new worker finishes the run once; the provider holds only the new key', async () => {
    process.env.ROTOR_ENV_FILE_ROOT = dir;
    // Grace outlasts the kills between promote and grace's end.
    const secret = await httpExampleSecret('http-token-api.yaml', saas, dir, '3s');
    delete process.env.ROTOR_ENV_FILE_ROOT;
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const rig = {
      pool: db.pool,
      kit,
      script: ENGINE_WORKER,
      env: {
        DATABASE_URL: db.url,
        MASTER_KEY: key.toString('hex'),
        ROTATOR: 'http',
        SEARCHPROV_ADMIN_TOKEN: saas.adminToken,
        ROTOR_ENV_FILE_ROOT: dir,
      },
      workers,
    };

    await bootRotation(rig, secret.id);
    const store = createLocalStore({ pool: db.pool, key });
    const old = String((await store.get(secret.id, 'CURRENT'))!.value.token);
    const ended = await killAtEachPoint(rig, secret.id, KILL_POINTS);
    await expectConverged(rig, store, secret.id, secret.id, ended);
    const current = String((await store.get(secret.id, 'CURRENT'))!.value.token);
    expect(saas.keys().map((k) => k.secret)).toEqual([current]);
    expect(await saas.statusFor(current)).toBe(200);
    expect(await saas.statusFor(old)).toBe(401);
  }, 180_000);
});
