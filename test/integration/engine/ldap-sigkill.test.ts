// The SIGKILL suite for the ldap rotator on a private slapd: a worker killed at every step boundary
// and inside apply and revoke (after the password change, before the engine records the step), with
// alternating accounts over LDAPS. Each time a new worker finishes the run, once; the credential the
// store calls CURRENT binds at every point, and afterwards exactly one credential binds: the new one.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { migrate } from '../../../src/state/migrate.js';
import { listRuns } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { startSlapd, type SlapdHandle } from '../../helpers/slapd-server.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';
import { killWorker, spawnWorker as spawnChild, type WorkerHandle } from '../../helpers/worker-child.js';

const WORKER = new URL('./worker-process.ts', import.meta.url).pathname;

/**
 * Every step boundary, in the order a run meets them, and `applied:*`: inside apply and revoke, after
 * the directory changed, before the engine records the step. Kills inside the other steps are the
 * engine's business and covered by sigkill.test.ts; kept out here so the file stays lean.
 */
const KILL_POINTS = [
  'applied:create',
  'after:create',
  'after:verify-new',
  'after:promote',
  'after:distribute',
  'after:grace',
  'after:verify-consumers',
  'applied:revoke',
  'after:revoke',
];

const spawnWorker = (env: Record<string, string>) => spawnChild(WORKER, env);

const kill = killWorker;

describe('an ldap-rotating worker killed with SIGKILL', () => {
  let db: TestDatabase;
  let slapd: SlapdHandle;
  let kit: QueueKit;
  let dir: string;
  const workers: WorkerHandle[] = [];
  const key = randomBytes(32);

  beforeAll(async () => {
    [slapd, db] = await Promise.all([startSlapd(), createTestDatabase('ldap_sigkill')]);
    await migrate(db.pool);
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    dir = await mkdtemp(join(tmpdir(), 'rotor-ldap-sigkill-'));
  });

  afterAll(async () => {
    for (const w of workers) await kill(w);
    await kit?.close();
    await db?.drop();
    await slapd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const points = KILL_POINTS;

  it('alternating accounts: a new worker finishes the run, once, with exactly the new credential binding', async () => {
    const accounts = [await slapd.addAccount('kill-a', randomBytes(12).toString('hex')), await slapd.addAccount('kill-b', 'x')];
    const group = await slapd.addGroup('kill', accounts);
    const secret = secretFixture('kill/ldap-alternating', {
      graceMs: 1_000,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      rotator: {
        name: 'ldap',
        params: {
          strategy: 'alternating-accounts',
          target: { url: slapd.ldapsUrl, ca: 'env:LDAP_CA', admin: { dn: slapd.admin.dn, password: 'env:LDAP_ADMIN' }, accounts, group },
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
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const env = {
      DATABASE_URL: db.url,
      MASTER_KEY: key.toString('hex'),
      LDAP_ADMIN: slapd.admin.password,
      LDAP_CA: slapd.ca,
      ROTATOR: 'ldap',
    };
    const bind = (v: Record<string, string | number>) => slapd.bind(String(v.username), String(v.password));

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
      await waitFor(() => current.output.includes(`at ${point}`), { timeoutMs: 30_000, message: `worker reaching ${point}` });
      // Whatever the moment, the credential the store calls CURRENT binds.
      const now = (await store.get(secret.id, 'CURRENT'))!.value;
      expect(await bind(now), `CURRENT at ${point}`).toBe(true);
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
    expect(await bind(current.value)).toBe(true);
    expect(await bind(old.value)).toBe(49);
    expect(await listRuns(db.pool, secret.id)).toHaveLength(2);
    await kill(workers.at(-1)!);
  }, 240_000);
});
