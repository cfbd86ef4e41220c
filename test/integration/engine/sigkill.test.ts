import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { STEPS } from '../../../src/engine/steps.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { migrate } from '../../../src/state/migrate.js';
import { listRuns, listSteps } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';

const WORKER = new URL('./worker-process.ts', import.meta.url).pathname;

function spawnWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child);
    });
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function loginWorks(db: TestDatabase, username: string, password: string): Promise<boolean | string> {
  const c = new pg.Client({ host: db.host, port: db.port, database: db.name, user: username, password });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  }
}

describe('a worker killed with SIGKILL', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  const workers: ChildProcess[] = [];
  const key = randomBytes(32);

  beforeAll(async () => {
    db = await createTestDatabase('sigkill');
    await migrate(db.pool);
    await db.pool.query(`create role kill_app nologin; create role kill_a login in role kill_app; create role kill_b login in role kill_app;`);
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
  });

  afterAll(async () => {
    for (const w of workers) await kill(w);
    await kit?.close();
    await db?.pool.query('drop role if exists kill_a; drop role if exists kill_b; drop role if exists kill_app').catch(() => undefined);
    await db?.drop();
  });

  it('at every step boundary and in the middle of steps: a new worker finishes the run, once, with one working CURRENT', async () => {
    const secret = secretFixture('kill/app-db', {
      graceMs: 800,
      retry: { attempts: 6, backoffMs: 20, maxBackoffMs: 50 },
      rotator: {
        name: 'postgres',
        params: { strategy: 'alternating-users', target: { host: db.host, port: db.port, database: db.name, users: ['kill_a', 'kill_b'], group: 'kill_app', admin: 'env:KILL_ADMIN_URL', sslmode: 'disable' } },
      },
    });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: () => 'pg', nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const env = { DATABASE_URL: db.url, MASTER_KEY: key.toString('hex'), STEP_DELAY_MS: '150', KILL_ADMIN_URL: db.url };
    workers.push(await spawnWorker(env));
    // A first rotation gives the secret an old credential to protect.
    const boot = await waitForRunEnd(db.pool, (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id, 30_000);
    expect(boot.state).toBe('done');
    const store = createLocalStore({ pool: db.pool, key });
    const old = (await store.get(secret.id, 'CURRENT'))!;

    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    const killPoints = STEPS.filter((s) => s !== 'finish').flatMap((s) => [{ step: s, when: 'started' as const }, { step: s, when: 'succeeded' as const }]);
    let kills = 0;
    for (const point of killPoints) {
      const deadline = Date.now() + 30_000;
      let hit = false;
      while (Date.now() < deadline) {
        const steps = await listSteps(db.pool, run.id);
        if (steps.some((s) => s.step === point.step && s.status === point.when)) { hit = true; break; }
        if (steps.some((s) => s.step === 'finish')) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!hit) continue;
      await kill(workers.at(-1)!);
      kills++;
      workers.push(await spawnWorker(env));
    }
    const ended = await waitForRunEnd(db.pool, run.id, 60_000);
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
    const versions = await store.describe(secret.id);
    expect(versions.filter((v) => v.stages.includes('CURRENT'))).toHaveLength(1);
    expect(versions.filter((v) => v.stages.includes('PENDING'))).toHaveLength(0);
    const current = (await store.get(secret.id, 'CURRENT'))!;
    expect(current.versionId).toBe(ended.newVersion);
    expect(await loginWorks(db, String(current.value.username), String(current.value.password))).toBe(true);
    expect(await loginWorks(db, String(old.value.username), String(old.value.password))).toBe('28P01');
    expect(await listRuns(db.pool, secret.id)).toHaveLength(2);
  }, 180_000);
});
