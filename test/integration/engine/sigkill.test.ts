// The engine's SIGKILL suite: a worker killed at every step boundary and inside every step, and a new
// worker finishes the run, once. With the postgres rotator (alternating users: one working CURRENT,
// the old login refused), and with random-secret publishing previous (CURRENT carries the old value
// through grace; the revoke step settles CURRENT without it, tells the consumers and clears PREVIOUS).
// And a rollback killed inside itself: it converges to the old credential, the new one revoked.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { runConsumers } from '../../../src/state/consumers.js';
import { listSteps } from '../../../src/state/runs.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { StoredVersion } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { KILL_STEPS, killPoints } from '../../helpers/kill-points.js';
import { login } from '../../helpers/login.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { killWorker, type WorkerHandle } from '../../helpers/worker-child.js';
import { secretFixture } from './fixtures.js';
import { ENGINE_WORKER, bootRotation, expectConverged, killAtEachPoint, leaksOf, type KillRig } from './kill-loop.js';

/** Every step boundary, and a moment inside every step that has effects. */
const KILL_POINTS = killPoints({ inside: KILL_STEPS });

/**
 * random-secret publishing previous: every step boundary, and two moments inside the revoke step's
 * settle. By then promote and distribute are behind the run, so their kill points are the revoke
 * step's own calls: the store's promote (`<version>-settled` staged, not CURRENT yet) and the env
 * file's notify (settled CURRENT, the consumer not told yet). Kills inside the other steps are the
 * engine's business, covered by the case above.
 */
const SETTLE_POINTS = killPoints({ within: { revoke: ['inside:promote', 'inside:distribute'] } });

const nextDueOf = () => new Date(Date.now() + 86_400_000);

describe('a worker killed with SIGKILL', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let dir: string;
  let rig: (env: Record<string, string>) => KillRig;
  const workers: WorkerHandle[] = [];
  const key = randomBytes(32);

  beforeAll(async () => {
    db = await createTestDatabase('sigkill');
    await migrate(db.pool);
    await db.pool.query(
      ['create role kill_app nologin', ...['a', 'b', 'c', 'd'].map((r) => `create role kill_${r} login in role kill_app`)].join('; '),
    );
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    dir = await mkdtemp(join(tmpdir(), 'rotor-sigkill-'));
    rig = (env) => ({
      pool: db.pool,
      kit,
      script: ENGINE_WORKER,
      env: { DATABASE_URL: db.url, MASTER_KEY: key.toString('hex'), ...env },
      workers,
    });
  });

  afterAll(async () => {
    for (const w of workers) await killWorker(w);
    await kit?.close();
    await db?.pool
      .query([...['a', 'b', 'c', 'd'].map((r) => `drop role if exists kill_${r}`), 'drop role if exists kill_app'].join('; '))
      .catch(() => undefined);
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Alternating users `kill_<a>`/`kill_<b>` on the test database, the admin URL from KILL_ADMIN_URL. */
  const pgRotator = (a: string, b: string) => ({
    name: 'postgres',
    params: {
      strategy: 'alternating-users',
      target: {
        host: db.host,
        port: db.port,
        database: db.name,
        users: [`kill_${a}`, `kill_${b}`],
        group: 'kill_app',
        admin: 'env:KILL_ADMIN_URL',
        sslmode: 'disable',
      },
    },
  });

  it('at every step boundary and inside every step: a new worker finishes the run, once, with one working CURRENT', async () => {
    const secret = secretFixture('kill/app-db', {
      // Long enough to outlast the kills between promote and grace, so the run is seen waiting in it;
      // then it ends at once (endGrace).
      graceMs: 20_000,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      rotator: pgRotator('a', 'b'),
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
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: () => 'pg', nextDueOf });
    const r = rig({ KILL_ADMIN_URL: db.url });

    await bootRotation(r, secret.id, 30_000, { endGrace: true });
    const store = createLocalStore({ pool: db.pool, key });
    const old = (await store.get(secret.id, 'CURRENT'))!;
    const ended = await killAtEachPoint(r, secret.id, KILL_POINTS, { endGrace: true });
    await expectConverged(r, store, secret.id, secret.id, ended);
    const current = (await store.get(secret.id, 'CURRENT'))!;
    expect(await login(db, String(current.value.username), String(current.value.password))).toBe(true);
    expect(await login(db, String(old.value.username), String(old.value.password))).toBe('28P01');
  }, 240_000);

  it('a rollback killed after it told the consumer the old version: a new worker tells it again and finishes, the old credential back', async () => {
    const envFile = join(dir, 'rollback.env');
    const secret = secretFixture('kill/rollback', {
      graceMs: 200,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      // The old credential still has a session when revoke is decided: the run rolls back.
      drain: { mode: 'fail', timeoutMs: 1_000 },
      rotator: pgRotator('c', 'd'),
      consumers: [
        { name: 'app-env', type: 'env-file', wave: 1, cacheTtlMs: undefined, confirmTimeoutMs: 30_000, params: { path: envFile } },
      ],
    });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: () => 'pg-rollback', nextDueOf });
    const r = rig({ KILL_ADMIN_URL: db.url });
    await bootRotation(r, secret.id);
    const store = createLocalStore({ pool: db.pool, key });
    const old = (await store.get(secret.id, 'CURRENT'))!;
    const session = new pg.Client({
      host: db.host,
      port: db.port,
      database: db.name,
      user: String(old.value.username),
      password: String(old.value.password),
    });
    await session.connect();
    try {
      const ended = await killAtEachPoint(r, secret.id, ['notified:rollback']);
      expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'rolled-back' });
      expect(ended.error).toContain('drain mode is fail');
      expect((await store.get(secret.id, 'CURRENT'))!.versionId).toBe(old.versionId);
      expect(await store.get(secret.id, 'PREVIOUS')).toBeNull();
      expect(await store.get(secret.id, 'PENDING')).toBeNull();
      expect(await readFile(envFile, 'utf8')).toContain(`# rotor-version: ${old.versionId}`);
      const rejected = (await store.getVersion(secret.id, ended.newVersion!))!.value;
      expect(await login(db, String(rejected.username), String(rejected.password))).toBe('28P01');
      expect(await login(db, String(old.value.username), String(old.value.password))).toBe(true);
      // The rollback ran to its end once: the attempt killed inside it was never recorded as ended.
      const rollbacks = (await listSteps(db.pool, ended.id)).filter((s) => s.step === 'rollback');
      expect(rollbacks.map((s) => [s.attempt, s.status])).toEqual([
        [1, 'started'],
        [2, 'succeeded'],
      ]);
      const [consumer] = await runConsumers(db.pool, ended.id);
      expect(consumer).toMatchObject({ rollbackNotifiedAt: expect.any(Date), rollbackConfirmedAt: expect.any(Date) });
    } finally {
      await session.end();
    }
  }, 120_000);

  it('random-secret publishing previous: previous rides in CURRENT until the revoke step settles it, once, and the consumer is told', async () => {
    const envFile = join(dir, 'sessions.env');
    const secret = secretFixture('kill/sessions', {
      graceMs: 1_000,
      retry: { attempts: 4, backoffMs: 20, maxBackoffMs: 50 },
      rotator: { name: 'random-secret', params: { target: { publishPrevious: true } } },
      consumers: [
        {
          name: 'sessions-env',
          type: 'env-file',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 30_000,
          params: { path: envFile, key: 'SESSION', format: 'env' },
        },
      ],
    });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf });
    const r = rig({ ROTATOR: 'random-secret' });

    const boot = await bootRotation(r, secret.id);
    const store = createLocalStore({ pool: db.pool, key });
    const old = String((await store.get(secret.id, 'CURRENT'))!.value.value);
    // What the store's stages and the env file hold at each point, read while the worker is stopped there.
    const seen = new Map<
      string,
      { current: StoredVersion | null; pending: StoredVersion | null; previous: StoredVersion | null; file: string }
    >();
    const ended = await killAtEachPoint(r, secret.id, SETTLE_POINTS, {
      async atPoint(point) {
        const [current, pending, previous] = await Promise.all([
          store.get(secret.id, 'CURRENT'),
          store.get(secret.id, 'PENDING'),
          store.get(secret.id, 'PREVIOUS'),
        ]);
        seen.set(point, { current, pending, previous, file: await readFile(envFile, 'utf8') });
      },
    });
    const published = ended.newVersion!;
    const settled = `${published}-settled`;
    await expectConverged(r, store, secret.id, secret.id, ended, settled);

    const fresh = String((await store.get(secret.id, 'CURRENT'))!.value.value);
    expect(fresh).not.toBe(old);
    // Each stage and the env file named by what it holds, checked against the version it claims.
    const versions: Record<string, [label: string, value: Record<string, string>]> = {
      [boot.newVersion!]: ['old', { value: old }],
      [published]: ['new+previous', { value: fresh, previous: old }],
      [settled]: ['settled', { value: fresh }],
    };
    const label = (v: StoredVersion | null) => {
      if (!v) return null;
      const [name, value] = versions[v.versionId] ?? [`unknown version ${v.versionId}`, {}];
      // Compared, never printed: a mismatch names the version only.
      return isDeepStrictEqual(v.value, value) ? name : `${name} with another value`;
    };
    const fileLabel = (text: string) => {
      const version = /^# rotor-version: (.+)$/m.exec(text)?.[1] ?? '';
      const [name, value] = versions[version] ?? [`unknown version ${version}`, {}];
      const lines = Object.entries(value).map(([k, v]) => `SESSION_${k.toUpperCase()}='${v}'`);
      const fields = text.split('\n').filter((l) => l.startsWith('SESSION_'));
      return isDeepStrictEqual(fields.sort(), lines.sort()) ? name : `${name} with other lines`;
    };
    const at = Object.fromEntries(
      [...seen].map(([point, s]) => [
        point,
        { current: label(s.current), pending: label(s.pending), previous: label(s.previous), file: fileLabel(s.file) },
      ]),
    );
    const grace = { current: 'new+previous', pending: null, previous: 'old' };
    expect(at).toEqual({
      'after:create': { current: 'old', pending: 'new+previous', previous: null, file: 'old' },
      'after:verify-new': { current: 'old', pending: 'new+previous', previous: null, file: 'old' },
      'after:promote': { ...grace, file: 'old' },
      'after:distribute': { ...grace, file: 'new+previous' },
      'after:grace': { ...grace, file: 'new+previous' },
      'after:verify-consumers': { ...grace, file: 'new+previous' },
      // The revoke step, killed before its promote: the settled value staged, previous still published.
      'inside:promote': { current: 'new+previous', pending: 'settled', previous: 'old', file: 'new+previous' },
      // Killed before it told the consumer: CURRENT settled, the published version its PREVIOUS until cleared.
      'inside:distribute': { current: 'settled', pending: null, previous: 'new+previous', file: 'new+previous' },
      'after:revoke': { current: 'settled', pending: null, previous: null, file: 'settled' },
    });
    // After the run: settled once (no second settle of the settled version), PREVIOUS cleared, and
    // the consumer holds the settled version alone.
    expect((await store.describe(secret.id)).map((v) => [v.versionId, v.stages])).toEqual(
      expect.arrayContaining([
        [boot.newVersion, []],
        [published, []],
        [settled, ['CURRENT']],
      ]),
    );
    expect(await store.describe(secret.id)).toHaveLength(3);
    expect(fileLabel(await readFile(envFile, 'utf8'))).toBe('settled');
    // The revoke step ran to its end once: the attempts killed never recorded an end. The first was
    // started by verify-consumers' completion (one statement ends a step and starts the next), and
    // the worker killed at after:verify-consumers died with it; the next two were killed inside it.
    const revokes = (await listSteps(db.pool, ended.id)).filter((s) => s.step === 'revoke');
    expect(revokes.map((s) => [s.attempt, s.status])).toEqual([
      [1, 'started'],
      [2, 'started'],
      [3, 'started'],
      [4, 'succeeded'],
    ]);
    // Neither value in the state tables, the queue's job data among them (rotor logs nothing of a run
    // without failures, so there is no log to scan; the env file holds the value by design).
    expect(await leaksOf([old, fresh], { pool: db.pool })).toEqual([]);
  }, 180_000);
});
