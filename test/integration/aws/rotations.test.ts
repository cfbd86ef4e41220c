// Full engine runs of the AWS rotators on the fakes: aws-rds-master against a real PostgreSQL
// (the fake RDS applies the password with ALTER ROLE after a delay), random-secret whose target is
// the store, both kept in the Secrets Manager fake. Then repair of a dangling AWSPENDING, denied
// calls, and the leak check over everything a run leaves behind.
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairSecret } from '../../../src/engine/repair.js';
import { requestRotation } from '../../../src/engine/request.js';
import { createLogger, silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { listAudit } from '../../../src/state/audit.js';
import { migrate } from '../../../src/state/migrate.js';
import { listSteps } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createAwsSecretsManagerStore } from '../../../src/store/aws-secrets-manager/store.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { pendingOf } from '../../../src/store/pending.js';
import { installAwsFakes } from '../../helpers/aws/install.js';
import { FakeRds } from '../../helpers/aws/rds.js';
import { awsStore, createMasterRole, dropRole, rdsMasterRotator } from '../../helpers/aws/rig.js';
import { FakeSecretsManager } from '../../helpers/aws/secrets-manager.js';
import { findLeaksInDatabase } from '../../helpers/leak-scan.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture, waitForRunEnd } from '../engine/fixtures.js';

describe('AWS rotations on the fakes', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  let uninstall: () => void;
  const roles: string[] = [];
  const sm = new FakeSecretsManager();
  let rds: FakeRds;
  /** Every line rotor logged, SDK lines included (debug level). */
  let logText = '';

  beforeAll(async () => {
    db = await createTestDatabase('aws rotations');
    await migrate(db.pool);
    rds = new FakeRds({ adminUrl: db.url, applyDelayMs: 250 });
    uninstall = installAwsFakes({ sm, rds });
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    await loadRotators(['aws-rds-master', 'random-secret']);
    const log = createLogger({
      level: 'debug',
      destination: new Writable({
        write: (chunk, _e, done) => {
          logText += String(chunk);
          done();
        },
      }),
    });
    store = createAwsSecretsManagerStore({ log });
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log,
      stores: { local: createLocalStore({ pool: db.pool, key: randomBytes(32) }), 'aws-secrets-manager': store },
      resolveRef: async () => db.url,
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      pollMs: 50,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    uninstall?.();
    for (const r of roles) await dropRole(db, r);
    await db?.drop();
  });

  const sync = (s: ResolvedSecret) =>
    syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
  const rotate = async (id: string) =>
    waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: id, trigger: 'manual', actor: 'test' })).id, 30_000);

  /** An RDS instance on the fake whose master user is a fresh role; its secret exists, empty. */
  async function rdsSecret(
    tag: string,
    opts: { cluster?: boolean } = {},
  ): Promise<{ secret: ResolvedSecret; master: string; name: string; id: string }> {
    const master = await createMasterRole(db, `rds_${tag}`);
    roles.push(master);
    const id = `${tag}-${randomBytes(3).toString('hex')}`;
    await rds.addDb({
      kind: opts.cluster ? 'cluster' : 'instance',
      id,
      engine: opts.cluster ? 'aurora-postgresql' : 'postgres',
      masterUsername: master,
      host: db.host,
      port: db.port,
      dbName: db.name,
    });
    const name = `prod/${id}/master`;
    await sm.createSecret(name);
    const secret = secretFixture(`aws/${id}`, {
      graceMs: 200,
      rotator: rdsMasterRotator(opts.cluster ? { clusterId: id } : { instanceId: id }),
      store: awsStore(name),
    });
    await sync(secret);
    return { secret, master, name, id };
  }

  it('aws-rds-master: bootstraps an empty secret, then rotates: the new password works, the old one is refused, stages follow', async () => {
    const { secret, master, name, id } = await rdsSecret('orders');
    expect(await rotate(secret.id)).toMatchObject({ state: 'done', outcome: 'rotated' });
    const first = (await store.get(secret.store.location, 'CURRENT'))!;
    // The JSON layout of AWS's rotation templates (and RDS's own secrets).
    expect(Object.keys(first.value).sort()).toEqual(['dbInstanceIdentifier', 'dbname', 'engine', 'host', 'password', 'port', 'username']);
    expect(first.value).toMatchObject({
      engine: 'postgres',
      host: db.host,
      port: db.port,
      username: master,
      dbname: db.name,
      dbInstanceIdentifier: id,
    });
    expect(await login(db, master, first.value.password)).toBe(true);

    const second = await rotate(secret.id);
    expect(second).toMatchObject({ state: 'done', outcome: 'rotated' });
    const next = (await store.get(secret.store.location, 'CURRENT'))!;
    expect(next.versionId).toBe(second.newVersion);
    expect(await login(db, master, next.value.password)).toBe(true);
    expect(await login(db, master, first.value.password)).toBe('28P01');
    expect(await sm.labels(name)).toEqual({ [first.versionId]: ['AWSPREVIOUS'], [next.versionId]: ['AWSCURRENT'] });
    // RDS was asked once per rotation, ApplyImmediately, and the poll saw the change pending before it was applied.
    const calls = await rds.calls();
    expect(calls.filter((c) => c === `ModifyDBInstance ${id} MasterUserPassword`)).toHaveLength(2);
    expect(calls.filter((c) => c === `DescribeDBInstances ${id} (pending)`).length).toBeGreaterThanOrEqual(2);
    expect((await rds.db('instance', id))?.applied).toBe(2);
  });

  it('aws-rds-master: an Aurora cluster is rotated with ModifyDBCluster', async () => {
    const { secret, master, id } = await rdsSecret('aurora', { cluster: true });
    expect(await rotate(secret.id)).toMatchObject({ state: 'done' });
    const current = (await store.get(secret.store.location, 'CURRENT'))!;
    expect(current.value).toMatchObject({ engine: 'aurora-postgresql', dbClusterIdentifier: id, username: master });
    expect(await login(db, master, current.value.password)).toBe(true);
    expect(await rds.calls()).toContain(`ModifyDBCluster ${id} MasterUserPassword`);
  });

  it('random-secret: PREVIOUS stays readable through grace, then the revoke step clears it', async () => {
    const name = `prod/webhooks/${randomUUID()}`;
    await sm.createSecret(name);
    const secret = secretFixture(`aws/webhook-${randomUUID().slice(0, 8)}`, {
      graceMs: 1_500,
      rotator: { name: 'random-secret', params: { generate: { length: 32, alphabet: 'hex' } } },
      store: awsStore(name),
    });
    await sync(secret);
    expect((await rotate(secret.id)).state).toBe('done');
    const old = (await store.get(secret.store.location, 'CURRENT'))!;
    expect(String(old.value.value)).toMatch(/^[0-9a-f]{64}$/);

    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    await waitFor(async () => (await listSteps(db.pool, run.id)).some((s) => s.step === 'grace' && s.status === 'waiting'), {
      timeoutMs: 20_000,
      message: 'grace',
    });
    const during = await sm.labels(name);
    expect(during[old.versionId]).toEqual(['AWSPREVIOUS']);
    expect((await store.get(secret.store.location, 'PREVIOUS'))?.value).toEqual(old.value);
    const ended = await waitForRunEnd(db.pool, run.id, 20_000);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
    expect(await store.get(secret.store.location, 'PREVIOUS')).toBeNull();
    expect(await sm.labels(name)).toEqual({ [old.versionId]: [], [ended.newVersion!]: ['AWSCURRENT'] });
    expect((await store.get(secret.store.location, 'CURRENT'))!.value.value).not.toBe(old.value.value);
  });

  it('repair clears a dangling AWSPENDING (which blocked rotor and AWS alike), restores the master password, and the next rotation succeeds', async () => {
    const { secret, master, name } = await rdsSecret('repair');
    expect((await rotate(secret.id)).state).toBe('done');
    const current = (await store.get(secret.store.location, 'CURRENT'))!;

    // What a rotation that died after create leaves: AWSPENDING on a version whose password RDS applied.
    const rotator = rotatorFor('aws-rds-master');
    const ctx = {
      secretId: secret.id,
      runId: 'lost',
      params: rotator.paramsSchema.parse(secret.rotator.params),
      resolveRef: async () => '',
      log: silentLogger,
      signal: new AbortController().signal,
    };
    const dangling = await rotator.generate(ctx, current.value);
    const lostVersion = `${randomUUID()}-1`;
    await store.putPending(secret.store.location, lostVersion, dangling);
    await rotator.apply(ctx, dangling, current.value);
    expect(await login(db, master, dangling.password)).toBe(true);
    expect(await login(db, master, current.value.password)).toBe('28P01');
    await expect(sm.handle('RotateSecret', { SecretId: name })).rejects.toThrow("A previous rotation isn't complete");
    expect(await pendingOf(store, secret.store.location, null)).toMatchObject({ versionId: lostVersion, dangling: true });

    const blocked = await rotate(secret.id);
    expect(blocked).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(blocked.error).toContain(`rotor repair ${secret.id}`);

    const deps = { pool: db.pool, store: () => store, rotator: rotatorFor, resolveRef: async () => '' };
    expect(await repairSecret(deps, secret.id, 'cli:alice')).toEqual({ repaired: true, clearedVersion: lostVersion, stage: 'PENDING' });
    expect(await pendingOf(store, secret.store.location, null)).toBeNull();
    expect(await login(db, master, current.value.password)).toBe(true);
    expect(await login(db, master, dangling.password)).toBe('28P01');
    await expect(sm.handle('RotateSecret', { SecretId: name })).resolves.toBeDefined();
    expect(
      (await listAudit(db.pool, { secretId: secret.id })).some((a) => a.action === 'repair.pending-cleared' && a.actor === 'cli:alice'),
    ).toBe(true);

    const after = await rotate(secret.id);
    expect(after).toMatchObject({ state: 'done', outcome: 'rotated' });
    expect(await login(db, master, (await store.get(secret.store.location, 'CURRENT'))!.value.password)).toBe(true);
  });

  it('a denied RDS call ends the run in needs-attention at once, naming the action and the instance; the old password keeps working', async () => {
    const { secret, master, id } = await rdsSecret('denied');
    expect((await rotate(secret.id)).state).toBe('done');
    const current = (await store.get(secret.store.location, 'CURRENT'))!;
    await rds.deny('rds:ModifyDBInstance', id);
    try {
      const run = await rotate(secret.id);
      expect(run).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
      expect(run.error).toContain('AWS denied rds:ModifyDBInstance on ' + id);
      expect(run.error).toContain(`allow rds:ModifyDBInstance on ${id}`);
      // Permanent: one attempt, no retries.
      expect((await listSteps(db.pool, run.id)).filter((s) => s.step === 'create').map((s) => s.status)).toEqual(['failed']);
      expect((await store.get(secret.store.location, 'CURRENT'))!.versionId).toBe(current.versionId);
      expect(await store.get(secret.store.location, 'PENDING')).toBeNull();
      expect(await login(db, master, current.value.password)).toBe(true);
    } finally {
      await rds.allowAll();
    }
  });

  it('a denied Secrets Manager call ends in needs-attention naming secretsmanager:PutSecretValue and the secret', async () => {
    const { secret, name } = await rdsSecret('smdenied');
    await sm.deny('secretsmanager:PutSecretValue', name);
    try {
      const run = await rotate(secret.id);
      expect(run.state).toBe('needs-attention');
      expect(run.error).toContain(`AWS denied secretsmanager:PutSecretValue on ${name}`);
      expect((await listSteps(db.pool, run.id)).filter((s) => s.step === 'create')).toHaveLength(1);
    } finally {
      await sm.allowAll();
    }
  });

  it('no generated value appears in any log line, error, audit row, job or table', async () => {
    const snapshot = await sm.state.snapshot();
    const values = Object.values(snapshot.secrets).flatMap((s) =>
      Object.values(s.versions).flatMap((v) =>
        Object.entries(JSON.parse(v.string) as Record<string, unknown>)
          .filter(([k]) => k === 'password' || k === 'value')
          .map(([, x]) => String(x)),
      ),
    );
    expect(values.length).toBeGreaterThanOrEqual(8);
    expect(logText.length).toBeGreaterThan(0);
    for (const v of values) expect(logText.includes(v)).toBe(false);
    // Runs, steps, audit, consumers and the BullMQ tables (job data, failed reasons) of the state database.
    expect(await findLeaksInDatabase(db.pool, values)).toEqual([]);
  });
});
