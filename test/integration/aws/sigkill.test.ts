// The AWS rotators survive SIGKILL at every step boundary and inside every step with effects: a
// new worker process resumes the run and converges, once, with one working AWSCURRENT. The fakes
// keep their state in the test database, so what "AWS" holds outlives each killed worker.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createAwsSecretsManagerStore } from '../../../src/store/aws-secrets-manager/store.js';
import { FakeIam, emptyIam } from '../../helpers/aws/iam.js';
import { installAwsFakes } from '../../helpers/aws/install.js';
import { FakeRds, emptyRds } from '../../helpers/aws/rds.js';
import { awsStore, createMasterRole, dropRole, rdsMasterRotator } from '../../helpers/aws/rig.js';
import { FAKE_REGION, FakeSecretsManager, emptySecretsManager } from '../../helpers/aws/secrets-manager.js';
import { dropFakeSchema, postgresState } from '../../helpers/aws/state.js';
import { KILL_STEPS, killPoints } from '../../helpers/kill-points.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { killWorker, type WorkerHandle } from '../../helpers/worker-child.js';
import { secretFixture } from '../engine/fixtures.js';
import { bootRotation, expectConverged, killAtEachPoint, type KillRig } from '../engine/kill-loop.js';

const WORKER = new URL('./worker-process.ts', import.meta.url).pathname;

/** Every step boundary, and a moment inside every step that has effects (verify-consumers has none without a drain check). */
const INSIDE = KILL_STEPS.filter((s) => s !== 'verify-consumers');
const BASE_POINTS = killPoints({ inside: INSIDE });
/**
 * For IAM: the moment CreateAccessKey has answered and the key is not stored yet (its secret exists
 * only in the killed worker), every step boundary, and inside every step the rotator acts in (inside
 * promote and distribute, only the store and consumers act: covered by the others). Inside grace
 * stays: it is where the test ends the grace window.
 */
const IAM_POINTS = ['created:create', ...BASE_POINTS.filter((p) => !['inside:promote', 'inside:distribute'].includes(p))];
/** For RDS, also the moment RDS has accepted the new password and not applied it yet. */
const RDS_POINTS = killPoints({ inside: INSIDE, within: { create: ['modify-sent:create'] } });

describe('AWS rotators with a worker killed by SIGKILL', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let dir: string;
  let uninstall: () => void;
  let sm: FakeSecretsManager;
  let rds: FakeRds;
  let iam: FakeIam;
  const workers: WorkerHandle[] = [];
  const roles: string[] = [];
  const key = randomBytes(32);

  beforeAll(async () => {
    db = await createTestDatabase('aws sigkill');
    await migrate(db.pool);
    sm = new FakeSecretsManager(postgresState(db.pool, 'secretsmanager', emptySecretsManager()));
    rds = new FakeRds({ adminUrl: db.url, applyDelayMs: 300 }, postgresState(db.pool, 'rds', emptyRds()));
    iam = new FakeIam(postgresState(db.pool, 'iam', emptyIam()));
    await sm.calls(); // creates the fakes' table before any worker races to
    await rds.calls();
    await iam.calls();
    uninstall = installAwsFakes({ sm, rds, iam });
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    dir = await mkdtemp(join(tmpdir(), 'rotor-aws-sigkill-'));
  });

  afterAll(async () => {
    for (const w of workers) await killWorker(w);
    await kit?.close();
    uninstall?.();
    for (const r of roles) await dropRole(db, r);
    // The fakes' table holds values, as AWS does: it goes before the leak scan of the state tables.
    if (db) await dropFakeSchema(db.pool);
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function killEverywhere(
    secret: ResolvedSecret,
    rotator: string,
    points: string[],
  ): Promise<{ old: { versionId: string; value: Record<string, string | number> } }> {
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const rig: KillRig = {
      pool: db.pool,
      kit,
      script: WORKER,
      env: { DATABASE_URL: db.url, MASTER_KEY: key.toString('hex'), ROTATOR: rotator, RDS_DELAY_MS: '300' },
      workers,
      // The AWS SDK and the fakes load slowly on a busy machine.
      startTimeoutMs: 60_000,
    };
    // A first, undisturbed rotation gives the secret an old credential to protect.
    await bootRotation(rig, secret.id, 40_000, { endGrace: true });
    const store = createAwsSecretsManagerStore();
    const old = (await store.get(secret.store.location, 'CURRENT'))!;

    const ended = await killAtEachPoint(rig, secret.id, points, {
      timeoutMs: 40_000,
      // Killed with the run waiting in grace: grace ends now, and the next worker finds it over.
      endGrace: true,
    });
    await expectConverged(rig, store, secret.store.location, secret.id, ended);
    // One AWSCURRENT, the run's version; no AWSPENDING left anywhere.
    const name = String(secret.store.params.secretId);
    const labels = Object.entries(await sm.labels(name));
    expect(labels.filter(([, l]) => l.includes('AWSCURRENT')).map(([id]) => id)).toEqual([ended.newVersion]);
    expect(labels.filter(([, l]) => l.includes('AWSPENDING'))).toEqual([]);
    return { old: old as { versionId: string; value: Record<string, string | number> } };
  }

  it('aws-rds-master: converges with the new master password working and the old one refused', async () => {
    const master = await createMasterRole(db, 'rds_kill');
    roles.push(master);
    await rds.addDb({
      kind: 'instance',
      id: 'kill-db',
      engine: 'postgres',
      masterUsername: master,
      host: db.host,
      port: db.port,
      dbName: db.name,
    });
    await sm.createSecret('prod/kill-db/master');
    const secret = secretFixture('kill/rds', {
      graceMs: 600_000,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      rotator: rdsMasterRotator({ instanceId: 'kill-db' }),
      store: awsStore('prod/kill-db/master'),
      consumers: [
        {
          name: 'app-env',
          type: 'env-file',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 60_000,
          params: { path: join(dir, 'rds.env') },
        },
      ],
    });
    const { old } = await killEverywhere(secret, 'aws-rds-master', RDS_POINTS);
    const current = (await createAwsSecretsManagerStore().get(secret.store.location, 'CURRENT'))!;
    expect(await login(db, master, current.value.password)).toBe(true);
    expect(await login(db, master, old.value.password)).toBe('28P01');
    // Nothing left pending on the instance: the last password RDS applied is the one in AWSCURRENT.
    expect(await rds.db('instance', 'kill-db')).toMatchObject({ status: 'available' });
    expect((await rds.db('instance', 'kill-db'))?.pending).toBeUndefined();
  }, 300_000);

  it('aws-iam-access-key: converges with the new key accepted by STS, the old one deactivated and held, nothing else on the user', async () => {
    await iam.createUser('kill-user');
    await sm.createSecret('prod/kill/iam');
    const secret = secretFixture('kill/iam', {
      graceMs: 600_000,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      rotator: { name: 'aws-iam-access-key', params: { target: { userName: 'kill-user', region: FAKE_REGION, settleTimeout: '20s' } } },
      store: awsStore('prod/kill/iam'),
      consumers: [
        {
          name: 'app-env',
          type: 'env-file',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 60_000,
          params: { path: join(dir, 'iam.env') },
        },
      ],
    });
    const { old } = await killEverywhere(secret, 'aws-iam-access-key', IAM_POINTS);
    const current = (await createAwsSecretsManagerStore().get(secret.store.location, 'CURRENT'))!;
    // The key of the attempt killed before it stored it (its secret lost), and the one staged by the
    // attempt killed inside apply, were deleted by the attempts after them: two keys, rotor's two.
    expect(await iam.keys('kill-user')).toEqual([
      { id: old.value.accessKeyId, status: 'Inactive' },
      { id: current.value.accessKeyId, status: 'Active' },
    ]);
    const creds = (v: Record<string, string | number>) => ({
      accessKeyId: String(v.accessKeyId),
      secretAccessKey: String(v.secretAccessKey),
    });
    await expect(iam.callerIdentity(creds(current.value), FAKE_REGION)).resolves.toMatchObject({
      Arn: expect.stringContaining(':user/kill-user'),
    });
    await expect(iam.callerIdentity(creds(old.value), FAKE_REGION)).rejects.toThrow('security token included in the request is invalid');
  }, 300_000);

  it('random-secret: converges with a new CURRENT and PREVIOUS cleared', async () => {
    await sm.createSecret('prod/kill/api-key');
    const secret = secretFixture('kill/api-key', {
      graceMs: 600_000,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      rotator: { name: 'random-secret', params: { generate: { length: 24, alphabet: 'base64url' } } },
      store: awsStore('prod/kill/api-key'),
      consumers: [
        {
          name: 'app-env',
          type: 'env-file',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 60_000,
          params: { path: join(dir, 'key.env') },
        },
      ],
    });
    const { old } = await killEverywhere(secret, 'random-secret', BASE_POINTS);
    const store = createAwsSecretsManagerStore();
    expect((await store.get(secret.store.location, 'CURRENT'))!.value.value).not.toEqual(old.value.value);
    expect(await store.get(secret.store.location, 'PREVIOUS')).toBeNull();
  }, 300_000);
});
