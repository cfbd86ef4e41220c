// Assembles a running rotor: engine dependencies, BullMQ workers for both lanes, the scheduler tick.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DelayedError, type Worker } from 'bullmq';
import type pg from 'pg';
import { consumerFor, loadConsumers } from './consumers/catalogue.js';
import type { Consumer } from './consumers/contract.js';
import type { EngineDeps } from './engine/deps.js';
import { monitorEmergencies, startLaneWorkers, type Lane } from './engine/emergency.js';
import { startIncidentWorker } from './engine/incident.js';
import { processRun } from './engine/processor.js';
import { startScheduler, type TickOptions } from './engine/scheduler.js';
import { PermanentError } from './errors.js';
import type { Logger } from './log.js';
import type { ResolvedSecret } from './policy/types.js';
import type { QueueKit, RunJobData } from './queue/backend.js';
import type { Rotator } from './rotator/contract.js';
import { rotatorFor } from './rotator/catalogue.js';
import type { SecretStore } from './store/contract.js';

export interface RuntimeOptions {
  pool: pg.Pool;
  kit: QueueKit;
  log: Logger;
  stores: Record<string, SecretStore>;
  /** Extra or replacement rotators and consumer types (plug-ins, tests). */
  rotators?: Record<string, Rotator<unknown>>;
  consumers?: Record<string, Consumer<unknown>>;
  resolveRef(ref: string, secret: ResolvedSecret): Promise<string>;
  nextDue(secret: ResolvedSecret, lastSuccessAt: Date): Date;
  /** @defaultValue 8 */
  concurrency?: number;
  /** @defaultValue 2 */
  emergencyConcurrency?: number;
  /** BullMQ lock; a job whose worker died is picked up again after about this long. @defaultValue 30s */
  lockMs?: number;
  /** @defaultValue 30s */
  stalledMs?: number;
  /** @defaultValue 60s */
  leaseMs?: number;
  /** @defaultValue 2s */
  pollMs?: number;
  /** Run the scheduler tick in this process, every `everyMs`. Omit for a pure worker (`rotor worker`). */
  scheduler?: { everyMs: number } & TickOptions;
  /** How often an incident driver looks at its runs. @defaultValue 50 ms */
  incidentPollMs?: number;
  now?: () => Date;
  onStepDone?: EngineDeps['onStepDone'];
}

export interface Runtime {
  deps: EngineDeps;
  workers: Worker<RunJobData>[];
  close(): Promise<void>;
}

export function createEngineDeps(opts: RuntimeOptions): EngineDeps {
  return {
    pool: opts.pool,
    log: opts.log,
    workerId: `worker:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    rotator: (name) => opts.rotators?.[name] ?? rotatorFor(name),
    store(backend) {
      const store = opts.stores[backend];
      if (!store) throw new PermanentError(`secret store ${backend} is not configured in this rotor`);
      return store;
    },
    consumer(type) {
      return opts.consumers?.[type] ?? consumerFor(type);
    },
    resolveRef: opts.resolveRef,
    nextDue: opts.nextDue,
    now: opts.now ?? (() => new Date()),
    leaseMs: opts.leaseMs ?? 60_000,
    pollMs: opts.pollMs ?? 2_000,
    onStepDone: opts.onStepDone,
  };
}

export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  // The engine asks for consumer types synchronously; they are small, so all are loaded up front.
  await loadConsumers();
  const deps = createEngineDeps(opts);
  const shutdown = new AbortController();
  const processor =
    (lane: Lane) => async (job: { data: RunJobData; moveToDelayed(ts: number, token?: string): Promise<void> }, token?: string) => {
      await processRun(deps, job.data.runId, {
        lane,
        signal: shutdown.signal,
        delay: async (at) => {
          await job.moveToDelayed(at.getTime(), token);
          throw new DelayedError();
        },
      });
    };
  const workerOpts = {
    lockDuration: opts.lockMs ?? 30_000,
    stalledInterval: opts.stalledMs ?? 30_000,
    // The engine bounds attempts itself (a step started counts), so a job that stalls is simply resumed.
    maxStalledCount: 1000,
  };
  const lanes = startLaneWorkers(opts.kit, processor, {
    worker: workerOpts,
    concurrency: opts.concurrency,
    emergencyConcurrency: opts.emergencyConcurrency,
  });
  const workers = [lanes.routine, lanes.emergency];
  for (const w of workers) {
    w.on('failed', (job, err) => opts.log.error({ runId: job?.data.runId, err: err.message }, 'run job failed'));
  }
  const stopMonitor = monitorEmergencies(opts.pool, lanes.routine, opts.log);
  workers.push(
    await startIncidentWorker(
      {
        pool: opts.pool,
        kit: opts.kit,
        log: opts.log,
        workerId: deps.workerId,
        lockMs: workerOpts.lockDuration,
        stalledMs: workerOpts.stalledInterval,
        ...(opts.incidentPollMs ? { pollMs: opts.incidentPollMs } : {}),
      },
      shutdown.signal,
    ),
  );
  if (opts.scheduler) workers.push(await startScheduler(opts.pool, opts.kit, opts.log, deps.now, opts.scheduler));
  let closing: Promise<void> | undefined;
  return {
    deps,
    workers,
    close() {
      closing ??= (async () => {
        stopMonitor();
        shutdown.abort();
        await Promise.allSettled(workers.map((w) => w.close()));
      })();
      return closing;
    },
  };
}
