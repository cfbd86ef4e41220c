// The SIGKILL suite for the ldap rotator on a private slapd: a worker killed at every step boundary
// and inside apply and revoke (after the password change, before the engine records the step), in
// both modes, the queue on Redis. Each time a new worker finishes the run, once, and afterwards
// exactly one credential binds: the new one. Alternating accounts (LDAPS): the credential the store
// calls CURRENT binds at every point. Single user (StartTLS): there is no overlap (docs/ldap.md), so
// from the moment apply set the password, the new one (PENDING, then CURRENT) binds and the old one
// is refused, through grace as well. No password in the state tables, Redis, rotor's or slapd's logs.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import type { SecretValue } from '../../../src/rotator/contract.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { killPoints } from '../../helpers/kill-points.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { privateRedis, uniquePrefix } from '../../helpers/redis.js';
import { startSlapd, type SlapdHandle } from '../../helpers/slapd-server.js';
import { killWorker, type WorkerHandle } from '../../helpers/worker-child.js';
import { secretFixture } from './fixtures.js';
import { ENGINE_WORKER, bootRotation, expectConverged, killAtEachPoint, leaksOf, type KillRig } from './kill-loop.js';

/**
 * Every step boundary, in the order a run meets them, and `applied:*`: inside apply and revoke, after
 * the directory changed, before the engine records the step. Kills inside the other steps are the
 * engine's business and covered by sigkill.test.ts; kept out here so the file stays lean.
 */
const KILL_POINTS = killPoints({ within: { create: ['applied:create'], revoke: ['applied:revoke'] } });

describe('an ldap-rotating worker killed with SIGKILL', () => {
  let db: TestDatabase;
  let slapd: SlapdHandle;
  let kit: QueueKit;
  let dir: string;
  const workers: WorkerHandle[] = [];
  const key = randomBytes(32);
  const prefix = uniquePrefix('ldapkill');

  beforeAll(async () => {
    [slapd, db] = await Promise.all([startSlapd(), createTestDatabase('ldap_sigkill')]);
    await migrate(db.pool);
    kit = await createQueueKit({ kind: 'redis', url: privateRedis().url, prefix }, silentLogger);
    dir = await mkdtemp(join(tmpdir(), 'rotor-ldap-sigkill-'));
  });

  afterAll(async () => {
    for (const w of workers) await killWorker(w);
    await kit?.close();
    await db?.drop();
    await slapd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const bind = (v: SecretValue) => slapd.bind(String(v.username), String(v.password));

  /** The secret synced, a rig whose workers log to a file, and the store. */
  async function setUp(name: string, params: Record<string, unknown>) {
    const secret: ResolvedSecret = secretFixture(`kill/ldap-${name}`, {
      graceMs: 1_000,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      rotator: { name: 'ldap', params },
      consumers: [
        {
          name: 'app-env',
          type: 'env-file',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 30_000,
          params: { path: join(dir, `${name}.env`) },
        },
      ],
    });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const logFile = join(dir, `${name}-workers.log`);
    const rig: KillRig = {
      pool: db.pool,
      kit,
      script: ENGINE_WORKER,
      env: {
        DATABASE_URL: db.url,
        REDIS_URL: privateRedis().url,
        QUEUE_PREFIX: prefix,
        MASTER_KEY: key.toString('hex'),
        LDAP_ADMIN: slapd.admin.password,
        LDAP_CA: slapd.ca,
        ROTATOR: 'ldap',
        LOG_FILE: logFile,
      },
      workers,
    };
    return { secret, rig, logFile, store: createLocalStore({ pool: db.pool, key }) };
  }

  /** Every password the store held (each read at a kill point), checked nowhere but in the store. */
  async function expectNoLeaks(passwords: Set<string>, logFile: string): Promise<void> {
    expect(
      await leaksOf([...passwords], {
        pool: db.pool,
        logFile,
        redis: { url: privateRedis().url, prefix },
        texts: { 'slapd log': slapd.log() },
      }),
    ).toEqual([]);
  }

  it('alternating accounts: a new worker finishes the run, once, with exactly the new credential binding', async () => {
    const accounts = [await slapd.addAccount('kill-a', randomBytes(12).toString('hex')), await slapd.addAccount('kill-b', 'x')];
    const group = await slapd.addGroup('kill', accounts);
    const { secret, rig, logFile, store } = await setUp('alternating', {
      strategy: 'alternating-accounts',
      target: { url: slapd.ldapsUrl, ca: 'env:LDAP_CA', admin: { dn: slapd.admin.dn, password: 'env:LDAP_ADMIN' }, accounts, group },
    });

    await bootRotation(rig, secret.id);
    const old = (await store.get(secret.id, 'CURRENT'))!;
    const passwords = new Set([String(old.value.password)]);
    const ended = await killAtEachPoint(rig, secret.id, KILL_POINTS, {
      async atPoint(point) {
        // Whatever the moment, the credential the store calls CURRENT binds.
        const now = (await store.get(secret.id, 'CURRENT'))!.value;
        expect(await bind(now), `CURRENT at ${point}`).toBe(true);
        const pending = await store.get(secret.id, 'PENDING');
        for (const v of [now, pending?.value]) if (v) passwords.add(String(v.password));
      },
    });
    await expectConverged(rig, store, secret.id, secret.id, ended);
    const current = (await store.get(secret.id, 'CURRENT'))!;
    expect(await bind(current.value)).toBe(true);
    expect(await bind(old.value)).toBe(49);
    await expectNoLeaks(passwords, logFile);
  }, 240_000);

  it('single user: the password changes in place; from apply on only the new one binds, and it is the one the store ends with', async () => {
    const user = await slapd.addAccount('kill-single', randomBytes(12).toString('hex'));
    const { secret, rig, logFile, store } = await setUp('single', {
      strategy: 'single-user',
      target: {
        url: `ldap://localhost:${slapd.port}`,
        startTLS: true,
        ca: 'env:LDAP_CA',
        admin: { dn: slapd.admin.dn, password: 'env:LDAP_ADMIN' },
        user,
      },
    });

    await bootRotation(rig, secret.id);
    const old = (await store.get(secret.id, 'CURRENT'))!;
    const passwords = new Set([String(old.value.password)]);
    // The password the first create attempt set before its worker was killed: the retry replaces it.
    let abandoned: SecretValue | undefined;
    const seen: Record<string, { current: string; pending: string | null; old: true | number | string }> = {};
    const ended = await killAtEachPoint(rig, secret.id, KILL_POINTS, {
      async atPoint(point) {
        const [current, pending] = [(await store.get(secret.id, 'CURRENT'))!, await store.get(secret.id, 'PENDING')];
        abandoned ??= pending?.value;
        for (const v of [current, pending]) if (v) passwords.add(String(v.value.password));
        seen[point] = {
          current: current.versionId === old.versionId ? `old: ${await bind(current.value)}` : `new: ${await bind(current.value)}`,
          pending: pending ? `new: ${await bind(pending.value)}` : null,
          old: await bind(old.value),
        };
      },
    });
    await expectConverged(rig, store, secret.id, secret.id, ended);
    // Until promote the store's CURRENT is the old password, which apply replaced: the new one is
    // PENDING and binds. From promote on, through grace, CURRENT binds and the old one is refused.
    const beforePromote = { current: 'old: 49', pending: 'new: true', old: 49 };
    const afterPromote = { current: 'new: true', pending: null, old: 49 };
    expect(seen).toEqual({
      'applied:create': beforePromote,
      'after:create': beforePromote,
      'after:verify-new': beforePromote,
      'after:promote': afterPromote,
      'after:distribute': afterPromote,
      'after:grace': afterPromote,
      'after:verify-consumers': afterPromote,
      'applied:revoke': afterPromote,
      'after:revoke': afterPromote,
    });
    const current = (await store.get(secret.id, 'CURRENT'))!;
    expect(current.value.username).toBe(user);
    expect(await bind(current.value)).toBe(true);
    expect(await bind(old.value)).toBe(49);
    // The killed attempt's password was staged, then replaced: it never became CURRENT and no longer binds.
    expect(abandoned?.password).not.toBe(current.value.password);
    expect(await bind(abandoned!)).toBe(49);
    await expectNoLeaks(passwords, logFile);
  }, 240_000);
});
