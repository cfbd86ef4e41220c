// The SIGKILL suites' loop: a first, undisturbed rotation, then a rotation whose worker is killed at
// each kill point in turn (test/helpers/kill-points.ts), each replacement worker loaded while the one
// before still runs (test/helpers/worker-child.ts), and what every such suite asserts at the end.
import { existsSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import { expect } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import type { QueueKit } from '../../../src/queue/backend.js';
import { RUNS_QUEUE } from '../../../src/queue/names.js';
import { listRuns, listSteps, type RunRow } from '../../../src/state/runs.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { findLeaksInDatabase, redisKeysWithContent } from '../../helpers/leak-scan.js';
import { waitFor } from '../../helpers/wait.js';
import { killWorker, spareWorker, spawnWorker, type WorkerHandle } from '../../helpers/worker-child.js';
import { waitForRunEnd } from './fixtures.js';

/** The engine's SIGKILL worker (worker-process.ts). */
export const ENGINE_WORKER = new URL('./worker-process.ts', import.meta.url).pathname;

export interface KillRig {
  pool: pg.Pool;
  kit: QueueKit;
  /** The worker script (it must honour KILL_AT and GATED) and its environment. */
  script: string;
  env: Record<string, string>;
  /** Every worker started goes here, for the suite's afterAll to kill. */
  workers: WorkerHandle[];
  /** How long a worker may take to load and start. @defaultValue worker-child's */
  startTimeoutMs?: number;
}

const rotate = async (rig: KillRig, secretId: string) =>
  (await requestRotation(rig.pool, rig.kit, { secretId, trigger: 'manual', actor: 'test' })).id;

const graceWaiting = (rig: KillRig, runId: string, timeoutMs: number) =>
  waitFor(async () => (await listSteps(rig.pool, runId)).some((s) => s.step === 'grace' && s.status === 'waiting'), {
    timeoutMs,
    message: 'the run waiting in grace',
  });

/**
 * A suite's grace is long, so that a slow resume on a busy machine never outruns it before the run
 * is seen waiting in it; once it has been, the clock is moved on: grace ends now, and the delayed
 * job is due. `workerAlive`: a live worker records the waiting step a moment before it delays the job.
 */
async function endGraceNow(rig: KillRig, runId: string, workerAlive: boolean): Promise<void> {
  const job = (await rig.kit.queue(RUNS_QUEUE).raw.getJob(runId))!;
  if (workerAlive) await waitFor(async () => (await job.getState()) === 'delayed', { message: 'the grace job delayed' });
  await rig.pool.query('update runs set grace_until = now(), wait_until = null where id = $1', [runId]);
  // A worker killed before it delayed the job left it active: it stalls back to waiting, and the
  // next worker finds grace over in the state database.
  if ((await job.getState()) === 'delayed') await job.promote();
}

/**
 * A first rotation with a worker that is never killed (then it is): the secret gets an old credential
 * to protect. With `endGrace`, its (long) grace ends once the run is seen waiting in it.
 */
export async function bootRotation(rig: KillRig, secretId: string, timeoutMs = 30_000, opts: { endGrace?: boolean } = {}): Promise<RunRow> {
  const worker = await spawnWorker(rig.script, { ...rig.env, KILL_AT: 'none' }, rig.startTimeoutMs);
  rig.workers.push(worker);
  const runId = await rotate(rig, secretId);
  if (opts.endGrace) {
    await graceWaiting(rig, runId, timeoutMs);
    await endGraceNow(rig, runId, true);
  }
  const ended = await waitForRunEnd(rig.pool, runId, timeoutMs);
  await killWorker(worker);
  expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
  return ended;
}

export interface KillOptions {
  /** With the worker stopped at `point` (or the run waiting in grace), before it is killed. */
  atPoint?(point: string, runId: string): Promise<void>;
  /** How long to wait for each point. @defaultValue 30_000 */
  timeoutMs?: number;
  /** Once the worker killed with the run waiting in grace is dead, grace ends now (endGraceNow). */
  endGrace?: boolean;
}

/**
 * Rotates `secretId` with a worker that stops at points[0], kills it there, starts one that stops at
 * points[1], and so on; the last worker finishes the run. `inside:grace` is the run seen waiting in
 * grace, a delayed job no worker holds. Returns the run's end, having checked every point was reached.
 */
export async function killAtEachPoint(rig: KillRig, secretId: string, points: readonly string[], opts: KillOptions = {}): Promise<RunRow> {
  const { timeoutMs = 30_000 } = opts;
  const spare = (i: number) => {
    const s = spareWorker(rig.script, { ...rig.env, KILL_AT: points[i] ?? 'none' }, rig.startTimeoutMs);
    rig.workers.push(s.handle);
    return s;
  };
  let current = await spare(0).start();
  // Loaded while the worker before it runs, started only once that one is dead: started earlier,
  // it could take the run from the worker meant to reach the point.
  let next = spare(1);
  const runId = await rotate(rig, secretId);
  const killedAt: string[] = [];
  for (const [i, point] of points.entries()) {
    if (point === 'inside:grace') {
      await graceWaiting(rig, runId, timeoutMs);
    } else {
      const w = current;
      await waitFor(() => w.output.includes(`at ${point}`), { timeoutMs, message: `worker reaching ${point}` });
    }
    await opts.atPoint?.(point, runId);
    await killWorker(current);
    killedAt.push(point);
    if (opts.endGrace && point === 'inside:grace') await endGraceNow(rig, runId, false);
    current = await next.start();
    next = spare(i + 2);
  }
  const ended = await waitForRunEnd(rig.pool, runId, 60_000);
  await killWorker(current);
  await killWorker(next.handle);
  expect(killedAt).toEqual(points);
  return ended;
}

/**
 * What every SIGKILL case ends with: the run rotated, and it was the secret's only run after the
 * first; the store holds one CURRENT, `currentVersion` (the run's new version unless the revoke
 * step settled another), and nothing PENDING.
 */
export async function expectConverged(
  rig: Pick<KillRig, 'pool'>,
  store: SecretStore,
  location: string,
  secretId: string,
  ended: RunRow,
  currentVersion = ended.newVersion,
): Promise<void> {
  expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
  expect(await listRuns(rig.pool, secretId)).toHaveLength(2);
  const versions = await store.describe(location);
  expect(versions.filter((v) => v.stages.includes('CURRENT')).map((v) => v.versionId)).toEqual([currentVersion]);
  expect(versions.filter((v) => v.stages.includes('PENDING'))).toEqual([]);
}

export interface LeakPlaces {
  pool: pg.Pool;
  /** The workers' LOG_FILE, where they log something to scan. */
  logFile?: string;
  /** The Redis the queue ran on and its prefix, when it did. */
  redis?: { url: string; prefix: string };
  /** Other text that must not hold a value (a server's log). */
  texts?: Record<string, string>;
}

/**
 * Where any of `values` appears: the state database's tables (with the postgres queue, its job data
 * too), the workers' log lines, Redis keys under the prefix, `texts`.
 */
export async function leaksOf(values: readonly string[], at: LeakPlaces): Promise<string[]> {
  expect(values.length).toBeGreaterThan(0);
  const found = (await findLeaksInDatabase(at.pool, values)).map((t) => `table ${t}`);
  if (at.logFile) {
    const log = existsSync(at.logFile) ? readFileSync(at.logFile, 'utf8') : '';
    // An empty log would prove nothing.
    expect(log.length).toBeGreaterThan(0);
    for (const [n, line] of log.split('\n').entries()) if (values.some((v) => line.includes(v))) found.push(`log line ${n + 1}`);
  }
  if (at.redis) {
    let keys = 0;
    for await (const { key, content } of redisKeysWithContent(at.redis.url)) {
      if (!key.startsWith(at.redis.prefix)) continue;
      keys++;
      if (values.some((v) => key.includes(v) || content.includes(v))) found.push(`redis ${key}`);
    }
    expect(keys).toBeGreaterThan(0);
  }
  for (const [name, text] of Object.entries(at.texts ?? {})) if (values.some((v) => text.includes(v))) found.push(name);
  return found;
}
