// Full engine runs of the aws-iam-access-key rotator on the IAM + STS fake, its values kept in the
// Secrets Manager fake: keys checked the way a consumer uses them (sts:GetCallerIdentity signed with
// the key, through the real STS client), the two-slot rules (a key rotor did not deactivate is never
// deleted or deactivated), the deleteAfter hold and bringing back the previous key, the drain check
// on GetAccessKeyLastUsed, and the leak check over everything the runs leave behind.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { createLogger, silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { listSteps, type RunRow } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createAwsSecretsManagerStore } from '../../../src/store/aws-secrets-manager/store.js';
import type { SecretStore, StoredVersion } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { FakeIam } from '../../helpers/aws/iam.js';
import { installAwsFakes } from '../../helpers/aws/install.js';
import { awsStore } from '../../helpers/aws/rig.js';
import { FAKE_REGION, FakeSecretsManager } from '../../helpers/aws/secrets-manager.js';
import { findLeaksInDatabase } from '../../helpers/leak-scan.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture, waitForRunEnd } from '../engine/fixtures.js';

type Key = { accessKeyId: string; secretAccessKey: string };

/** What STS says to a consumer signing with `key`: true, or the error code it answers with. */
async function sts(key: Key | StoredVersion['value']): Promise<true | string> {
  const client = new STSClient({
    region: FAKE_REGION,
    credentials: { accessKeyId: String(key.accessKeyId), secretAccessKey: String(key.secretAccessKey) },
    maxAttempts: 1,
  });
  try {
    await client.send(new GetCallerIdentityCommand({}));
    return true;
  } catch (err) {
    return (err as Error).name;
  } finally {
    client.destroy();
  }
}

describe('aws-iam-access-key rotations on the IAM fake', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;
  let uninstall: () => void;
  const sm = new FakeSecretsManager();
  const iam = new FakeIam();
  let logText = '';

  beforeAll(async () => {
    db = await createTestDatabase('aws iam');
    await migrate(db.pool);
    uninstall = installAwsFakes({ sm, iam });
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    await loadRotators(['aws-iam-access-key']);
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
      resolveRef: async () => '',
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      pollMs: 50,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    uninstall?.();
    await db?.drop();
  });

  /** A fresh IAM user with no keys, and its secret (empty) in the Secrets Manager fake. */
  async function iamSecret(tag: string, target: Record<string, unknown> = {}, over: Partial<ResolvedSecret> = {}) {
    const user = `${tag}-${randomBytes(3).toString('hex')}`;
    await iam.createUser(user);
    const name = `prod/iam/${user}`;
    await sm.createSecret(name);
    const secret = secretFixture(`iam/${user}`, {
      graceMs: 200,
      drain: { mode: 'wait', timeoutMs: 10_000 },
      rotator: {
        name: 'aws-iam-access-key',
        params: { target: { userName: user, region: FAKE_REGION, settleTimeout: '10s', lastUsedWindow: '1s', ...target } },
      },
      store: awsStore(name),
      ...over,
    });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    return { secret, user };
  }

  const rotate = async (id: string, trigger: 'manual' | 'emergency' = 'manual'): Promise<RunRow> =>
    waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: id, trigger, actor: 'test', reason: 'test' })).id, 30_000);
  /** A rotation while STS never accepts a new key within settleTimeout: verify-new fails, the run discards. */
  const rotateNeverSettling = async (id: string): Promise<RunRow> => {
    await iam.setSettle(60_000);
    try {
      return await rotate(id);
    } finally {
      await iam.setSettle(300);
    }
  };
  const current = async (s: ResolvedSecret) => (await store.get(s.store.location, 'CURRENT'))!;
  const previous = async (s: ResolvedSecret) => (await store.get(s.store.location, 'PREVIOUS'))!;

  it('rotates: the new key verifies after IAM settles, both keys work during grace, the old one is refused after revoke', async () => {
    const { secret, user } = await iamSecret('app', { deleteAfter: '0s', lastUsedWindow: '3s' }, { graceMs: 1_000 });
    expect(await rotate(secret.id)).toMatchObject({ state: 'done', outcome: 'rotated' });
    const first = await current(secret);
    // The layout of AWS's samples, nothing else.
    expect(Object.keys(first.value).sort()).toEqual(['accessKeyId', 'secretAccessKey']);
    expect(await sts(first.value)).toBe(true);

    // IAM slow to settle (2 s here), so verify-new has to wait for the new key whatever the machine's load.
    await iam.setSettle(2_000);
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    await waitFor(async () => (await listSteps(db.pool, run.id)).some((s) => s.step === 'grace' && s.status === 'waiting'), {
      timeoutMs: 20_000,
      message: 'grace',
    });
    await iam.setSettle(300);
    const next = await current(secret);
    expect(next.value.accessKeyId).not.toBe(first.value.accessKeyId);
    // Grace: consumers hold either key, and both work.
    expect(await sts(first.value)).toBe(true);
    expect(await sts(next.value)).toBe(true);
    const ended = await waitForRunEnd(db.pool, run.id, 30_000);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
    expect(await sts(first.value)).toBe('InvalidClientTokenId');
    expect(await sts(next.value)).toBe(true);
    expect(await iam.keys(user)).toEqual([
      { id: first.value.accessKeyId, status: 'Inactive' },
      { id: next.value.accessKeyId, status: 'Active' },
    ]);
    expect(Object.keys(await iam.tags(user))).toEqual([`rotor:held:${first.value.accessKeyId}`]);
    expect((await previous(secret)).value).toEqual(first.value);

    const steps = await listSteps(db.pool, run.id);
    // verify-new waited for IAM's eventual consistency (the fake refuses new keys for 300 ms) and says so.
    const verified = steps.find((s) => s.step === 'verify-new' && s.status === 'succeeded')!;
    expect(verified.detail).toMatchObject({ stsAttempts: expect.any(Number), settledMs: expect.any(Number) });
    expect(Number(verified.detail!.stsAttempts)).toBeGreaterThanOrEqual(2);
    expect(Number(verified.detail!.settledMs)).toBeGreaterThan(0);
    // The drain check saw the old key used after the new one was created (the grace check above) and waited until it was quiet.
    expect(steps.some((s) => s.step === 'verify-consumers' && s.status === 'waiting' && s.detail?.oldSessions === 1)).toBe(true);

    // deleteAfter 0s: the next create deletes the held key (and its tag) to make room.
    expect(await rotate(secret.id)).toMatchObject({ state: 'done' });
    const third = await current(secret);
    expect((await iam.keys(user)).map((k) => k.id)).toEqual([next.value.accessKeyId, third.value.accessKeyId]);
    expect(Object.keys(await iam.tags(user))).toEqual([`rotor:held:${next.value.accessKeyId}`]);
    expect(await sts(next.value)).toBe('InvalidClientTokenId');
    expect(await sts(third.value)).toBe(true);
  });

  it('never deletes or deactivates a key it did not deactivate: a foreign key blocks the second rotation, naming it', async () => {
    const { secret, user } = await iamSecret('shared', { deleteAfter: '0s' });
    const foreign = await iam.createKey(user);
    // The first rotation fits in the free slot, beside the key made by hand.
    expect(await rotate(secret.id)).toMatchObject({ state: 'done' });
    const mine = await current(secret);
    const before = (await iam.calls()).length;

    const refused = await rotate(secret.id);
    expect(refused).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(refused.error).toContain(foreign.accessKeyId);
    expect(refused.error).toContain('ACTIVE');
    expect(refused.error).toContain('rotor never deletes or deactivates a key it did not deactivate itself');
    // Permanent: one create attempt, nothing created, the foreign key as it was.
    expect((await listSteps(db.pool, refused.id)).filter((s) => s.step === 'create').map((s) => s.status)).toEqual(['failed']);
    const calls = (await iam.calls()).slice(before);
    expect(calls.filter((c) => /^(CreateAccessKey|UpdateAccessKey|DeleteAccessKey)/.test(c))).toEqual([]);
    expect(await iam.keys(user)).toEqual([
      { id: foreign.accessKeyId, status: 'Active' },
      { id: mine.value.accessKeyId, status: 'Active' },
    ]);
    expect(await sts(foreign)).toBe(true);

    // Deactivated by its owner (not by rotor): still not rotor's to delete.
    await iam.setStatus(user, foreign.accessKeyId, 'Inactive');
    const still = await rotate(secret.id);
    expect(still.state).toBe('needs-attention');
    expect(still.error).toContain(`${foreign.accessKeyId} (inactive`);
    expect((await iam.keys(user)).map((k) => k.id)).toContain(foreign.accessKeyId);
    expect((await current(secret)).versionId).toBe(mine.versionId);
  });

  it('holds the key it revoked for deleteAfter: only an emergency takes its slot, and the key an emergency revoked can be brought back', async () => {
    const { secret, user } = await iamSecret('hold', { deleteAfter: '1h' });
    await rotate(secret.id);
    const k1 = await current(secret);
    await rotate(secret.id);
    const k2 = await current(secret);
    expect(await sts(k1.value)).toBe('InvalidClientTokenId');

    // A routine rotation within the hold would have to delete k1: refused, with when the hold ends.
    const routine = await rotate(secret.id);
    expect(routine).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(routine.error).toMatch(/held until \d{4}-\d\d-\d\dT/);
    expect(routine.error).toContain('--emergency');
    expect((await iam.keys(user)).map((k) => k.id)).toEqual([k1.value.accessKeyId, k2.value.accessKeyId]);

    // An emergency (k2 leaked, say) takes the oldest held key's slot: a fresh key now.
    const emergency = await rotate(secret.id, 'emergency');
    expect(emergency).toMatchObject({ state: 'done', outcome: 'rotated', trigger: 'emergency' });
    const k3 = await current(secret);
    expect(await iam.keys(user)).toEqual([
      { id: k2.value.accessKeyId, status: 'Inactive' },
      { id: k3.value.accessKeyId, status: 'Active' },
    ]);
    expect(logText).toContain('before its deleteAfter ended: an emergency rotation needs its slot');

    // Bringing back the previous key: within its hold, k2 is inactive and its value is still PREVIOUS.
    // Re-activated (aws iam update-access-key --status Active), that value works again.
    expect(await sts(k2.value)).toBe('InvalidClientTokenId');
    const prev = await previous(secret);
    expect(prev.value).toEqual(k2.value);
    await iam.setStatus(user, String(prev.value.accessKeyId), 'Active');
    expect(await sts(prev.value)).toBe(true);
    // Something may use it again: rotor never deactivates or deletes it, even in an emergency.
    for (const trigger of ['manual', 'emergency'] as const) {
      const blocked = await rotate(secret.id, trigger);
      expect(blocked.state).toBe('needs-attention');
      // Named as rotor names the keys it holds (their whole ids are redacted with every stored value).
      const id = String(k2.value.accessKeyId);
      expect(blocked.error).toContain(`${id.slice(0, 4)}…${id.slice(-4)} (ACTIVE again after rotor deactivated it`);
      expect(await sts(k2.value)).toBe(true);
    }

    // Deactivated again by the operator and past its hold: the next rotation deletes it.
    await iam.setStatus(user, String(k2.value.accessKeyId), 'Inactive');
    await iam.age(user, 2 * 3_600_000);
    expect(await rotate(secret.id)).toMatchObject({ state: 'done' });
    const k4 = await current(secret);
    expect((await iam.keys(user)).map((k) => k.id)).toEqual([k3.value.accessKeyId, k4.value.accessKeyId]);
    expect(Object.keys(await iam.tags(user))).toEqual([`rotor:held:${k3.value.accessKeyId}`]);
  });

  it('drain mode fail: the old key used after promote rolls the run back; the new key is deleted, the old one stays CURRENT', async () => {
    const { secret, user } = await iamSecret(
      'drain',
      { lastUsedWindow: '5m' },
      { graceMs: 1_000, drain: { mode: 'fail', timeoutMs: 1_000 } },
    );
    await rotate(secret.id);
    const old = await current(secret);
    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    await waitFor(async () => (await listSteps(db.pool, run.id)).some((s) => s.step === 'grace' && s.status === 'waiting'), {
      timeoutMs: 20_000,
      message: 'grace',
    });
    // A consumer that never took the new key.
    expect(await sts(old.value)).toBe(true);
    const ended = await waitForRunEnd(db.pool, run.id, 30_000);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
    expect(ended.error).toContain('drain mode is fail');
    expect((await current(secret)).versionId).toBe(old.versionId);
    expect(await iam.keys(user)).toEqual([{ id: old.value.accessKeyId, status: 'Active' }]);
    expect(await sts(old.value)).toBe(true);
  });

  it('a first rotation that fails before promote deletes the key it created: no key is left that nothing tracks', async () => {
    // The local store: what the run staged is PENDING only (Secrets Manager, below, makes it CURRENT).
    const { secret, user } = await iamSecret('first-discard', { settleTimeout: '1s' });
    const local = { ...secret, store: { backend: 'local', location: secret.id, params: {} }, hash: `${secret.hash}-local` };
    await syncSecrets(db.pool, [local], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const localStore = runtime.deps.store('local');
    const run = await rotateNeverSettling(secret.id);
    expect(run).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(run.error).toContain('verify-new failed');
    expect(await iam.keys(user)).toEqual([]);
    expect(await localStore.get(secret.id, 'PENDING')).toBeNull();
    expect(await localStore.get(secret.id, 'CURRENT')).toBeNull();
  });

  it('Secrets Manager makes a first version AWSCURRENT as it is staged: a failed first rotation keeps its key there, tracked', async () => {
    const { secret, user } = await iamSecret('first-sm', { settleTimeout: '1s' });
    const run = await rotateNeverSettling(secret.id);
    expect(run).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    const kept = await current(secret);
    expect(kept.versionId).toBe(run.newVersion);
    expect(await iam.keys(user)).toEqual([{ id: kept.value.accessKeyId, status: 'Active' }]);
    expect(Object.values(await sm.labels(`prod/iam/${user}`))).toEqual([['AWSCURRENT']]);
    const discard = (await listSteps(db.pool, run.id)).find((s) => s.step === 'discard')!;
    expect(discard.detail).toMatchObject({ keptCurrent: run.newVersion });
  });

  /**
   * Makes the next CreateAccessKey of `user` go wrong in the way a network does: `effect` runs in its
   * place (AWS creating the key, or someone else's key appearing), then the caller sees a timeout.
   */
  function loseNextCreate(user: string, effect: () => Promise<unknown>): void {
    const handle = iam.handle.bind(iam);
    let armed = true;
    iam.handle = async (action, input) => {
      if (!armed || action !== 'CreateAccessKey' || input.UserName !== user) return handle(action, input);
      armed = false;
      iam.handle = handle;
      await effect();
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    };
  }

  it("a key whose CreateAccessKey answer was lost is the run's own orphan: deleted, and a fresh key made (exactly rotor's keys left)", async () => {
    const { secret, user } = await iamSecret('lost-answer', { deleteAfter: '0s' });
    expect(await rotate(secret.id)).toMatchObject({ state: 'done' });
    const old = await current(secret);
    let orphan = '';
    // AWS creates the key, and the answer (the only copy of its secret) never arrives.
    loseNextCreate(user, async () => (orphan = (await iam.createKey(user)).accessKeyId));
    const run = await rotate(secret.id);
    expect(run).toMatchObject({ state: 'done', outcome: 'rotated' });
    const next = await current(secret);
    expect(orphan).not.toBe('');
    expect(next.value.accessKeyId).not.toBe(orphan);
    expect(await iam.keys(user)).toEqual([
      { id: old.value.accessKeyId, status: 'Inactive' },
      { id: next.value.accessKeyId, status: 'Active' },
    ]);
    // The intent rotor recorded before CreateAccessKey is gone once the key was stored.
    expect(Object.keys(await iam.tags(user)).filter((t) => t.startsWith('rotor:creating'))).toEqual([]);
    expect(logText).toContain(`deleted access key ${orphan.slice(0, 4)}…${orphan.slice(-4)}`);
  });

  it('a key someone else made and used while a create answer was lost is never touched: the run is refused, naming it', async () => {
    const { secret, user } = await iamSecret('lost-foreign');
    expect(await rotate(secret.id)).toMatchObject({ state: 'done' });
    const mine = await current(secret);
    let foreign: Key | undefined;
    // rotor's request never reached IAM; in that moment someone else made a key in the free slot, and used it.
    loseNextCreate(user, async () => {
      foreign = await iam.createKey(user);
      expect(await sts(foreign)).toBe(true);
    });
    // New keys work at once here: the foreign key's use is not held up by IAM's settling.
    await iam.setSettle(0);
    let run: RunRow;
    try {
      run = await rotate(secret.id);
      expect(await sts(foreign!)).toBe(true);
    } finally {
      await iam.setSettle(300);
    }
    expect(run).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(run.error).toContain(foreign!.accessKeyId);
    expect(await iam.keys(user)).toEqual([
      { id: mine.value.accessKeyId, status: 'Active' },
      { id: foreign!.accessKeyId, status: 'Active' },
    ]);
    expect((await current(secret)).versionId).toBe(mine.versionId);
  });

  it('a denied IAM call ends the run at once, naming the action and the user; nothing changes', async () => {
    const { secret, user } = await iamSecret('denied');
    await iam.deny('iam:CreateAccessKey', user);
    try {
      const run = await rotate(secret.id);
      expect(run).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
      expect(run.error).toContain(`AWS denied iam:CreateAccessKey on user ${user}`);
      expect(run.error).toContain(`allow iam:CreateAccessKey on user ${user}`);
      expect((await listSteps(db.pool, run.id)).filter((s) => s.step === 'create')).toHaveLength(1);
      expect(await iam.keys(user)).toEqual([]);
    } finally {
      await iam.allowAll();
    }
  });

  it('a user IAM does not know ends the run at once, saying which setting to check', async () => {
    const { secret: ghost } = await iamSecret('ghost', { userName: 'no-such-user' });
    const run = await rotate(ghost.id);
    expect(run).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(run.error).toContain('iam:ListAccessKeys: user no-such-user does not exist');
    expect(run.error).toContain('check target.userName');
  });

  it('no secret access key appears in any log line, error, audit row, job or table', async () => {
    const secrets = await iam.secrets();
    expect(secrets.length).toBeGreaterThanOrEqual(10);
    // The rotator's own lines (the mock replaces the SDK's send, so its middleware logs nothing here).
    expect(logText).toContain('created access key');
    for (const s of secrets) expect(logText.includes(s)).toBe(false);
    expect(await findLeaksInDatabase(db.pool, secrets)).toEqual([]);
  });
});
