// BullMQ wiring for both backends: Redis (ROTOR_REDIS_URL, scales out to many machines) or
// BullMQ's PostgreSQL backend on the state database (the embedded single-machine default).
import {
  Queue,
  Worker,
  createPostgresBackend,
  runMigrations,
  withBackend,
  type Processor,
  type WorkerOptions,
  type JobsOptions,
} from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from '../log.js';
import { scrub } from '../redact.js';

export type QueueBackendConfig =
  | { kind: 'redis'; url: string; /** @defaultValue 'rotor' */ prefix?: string }
  | { kind: 'postgres'; url: string; /** @defaultValue 'bullmq' */ schema?: string };

/** Job data: ids only, never a value (invariant 4). */
export interface RunJobData {
  runId: string;
}

/** An incident driver's job data: the incident id only. */
export interface IncidentJobData {
  incidentId: string;
}

export interface QueueHandle {
  /**
   * Adds a job. With `opts.jobId`, a job of that id that is waiting, delayed or active is kept as
   * it is (BullMQ adds nothing under an id that exists), and one that failed (every attempt spent)
   * is retried with its attempts reset: rotor adds a job only for work the state database still
   * calls unfinished (a run, an incident), which a failed job of the same id would otherwise hold
   * back for good. With `fresh`, the caller knows no job of that id ever existed (the id was drawn
   * just now): nothing failed can hold it back, and its state is not looked up (one round trip less).
   */
  add(name: string, data: RunJobData | IncidentJobData, opts?: JobsOptions, fresh?: boolean): Promise<void>;
  counts(): Promise<Record<string, number>>;
  /** The underlying BullMQ queue, for schedulers and metrics. */
  readonly raw: Queue;
}

export interface QueueKit {
  readonly kind: QueueBackendConfig['kind'];
  queue(name: string): QueueHandle;
  worker(name: string, processor: Processor<RunJobData>, opts: Omit<WorkerOptions, 'connection'>): Worker<RunJobData>;
  close(): Promise<void>;
}

export async function createQueueKit(config: QueueBackendConfig, log: Logger): Promise<QueueKit> {
  return config.kind === 'redis' ? createRedisKit(config, log) : createPostgresKit(config);
}

async function createRedisKit(config: Extract<QueueBackendConfig, { kind: 'redis' }>, log: Logger): Promise<QueueKit> {
  // Producers fail fast when Redis is down (enableOfflineQueue: false); workers wait for it to
  // come back (maxRetriesPerRequest: null), as BullMQ requires for production.
  const producer = new Redis(config.url, { enableOfflineQueue: false, maxRetriesPerRequest: 3, lazyConnect: true });
  producer.on('error', () => undefined);
  await producer.connect();
  await warnUnlessNoEviction(producer, config.url, log);
  const workerConnections: Redis[] = [];
  const prefix = config.prefix ?? 'rotor';
  return buildKit('redis', {
    newQueue: (name) => new Queue(name, { connection: producer, prefix }),
    newWorker: (name, processor, opts) => {
      const connection = new Redis(config.url, { maxRetriesPerRequest: null });
      connection.on('error', () => undefined);
      workerConnections.push(connection);
      return new Worker<RunJobData>(name, processor, { ...opts, connection, prefix });
    },
    closeConnections: async () => {
      await Promise.allSettled([producer.quit(), ...workerConnections.map((c) => c.quit())]);
    },
  });
}

async function warnUnlessNoEviction(redis: Redis, url: string, log: Logger): Promise<void> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy && policy !== 'noeviction') {
      log.warn(
        { redis: scrub(url), maxmemoryPolicy: policy },
        'Redis maxmemory-policy is not noeviction: under memory pressure Redis may silently drop queued rotations; set maxmemory-policy noeviction',
      );
    }
  } catch {
    // Managed Redis services often disable CONFIG; BullMQ itself warns in that case.
  }
}

async function createPostgresKit(config: Extract<QueueBackendConfig, { kind: 'postgres' }>): Promise<QueueKit> {
  const schema = config.schema ?? 'bullmq';
  // Migrations are explicit for this backend: apply them once on one dedicated client.
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    await runMigrations(client, schema);
  } finally {
    await client.end();
  }
  const connection = { connectionString: config.url, schema, max: 10 };
  // The backend-bound classes have the same API; rotor uses them through the Redis-typed surface.
  const PG = withBackend(createPostgresBackend);
  return buildKit('postgres', {
    newQueue: (name) => new PG.Queue(name, { connection }) as unknown as Queue,
    newWorker: (name, processor, opts) =>
      new PG.Worker<RunJobData>(name, processor as never, { ...opts, connection }) as unknown as Worker<RunJobData>,
    closeConnections: async () => undefined,
  });
}

interface KitParts {
  newQueue(name: string): Queue;
  newWorker(name: string, processor: Processor<RunJobData>, opts: Omit<WorkerOptions, 'connection'>): Worker<RunJobData>;
  closeConnections(): Promise<void>;
}

function buildKit(kind: QueueBackendConfig['kind'], parts: KitParts): QueueKit {
  const queues = new Map<string, QueueHandle>();
  const workers: Worker<RunJobData>[] = [];
  let closing: Promise<void> | undefined;
  return {
    kind,
    queue(name) {
      let handle = queues.get(name);
      if (!handle) {
        const raw = parts.newQueue(name);
        raw.on('error', () => undefined);
        handle = {
          raw,
          async add(jobName, data, opts, fresh = false) {
            await raw.add(jobName, data, opts);
            if (fresh || opts?.jobId === undefined) return;
            if ((await raw.getJobState(opts.jobId)) === 'failed') await retryFailed(raw, opts.jobId);
          },
          async counts() {
            return raw.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'completed', 'failed');
          },
        };
        queues.set(name, handle);
      }
      return handle;
    },
    worker(name, processor, opts) {
      const w = parts.newWorker(name, processor, opts);
      w.on('error', () => undefined);
      workers.push(w);
      return w;
    },
    close() {
      // Idempotent, and every cleanup runs even if one throws.
      closing ??= (async () => {
        await Promise.allSettled(workers.map((w) => w.close()));
        await Promise.allSettled([...queues.values()].map((q) => q.raw.close()));
        await parts.closeConnections();
      })();
      return closing;
    },
  };
}

/**
 * Moves a failed job back to waiting, its attempts counted afresh (Job.retry, on either backend).
 * Another process may retry it (or remove it) first: a job no longer failed is left as it is.
 */
async function retryFailed(queue: Queue, jobId: string): Promise<void> {
  const job = await queue.getJob(jobId);
  try {
    await job?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  } catch (err) {
    if ((await queue.getJobState(jobId)) === 'failed') throw err;
  }
}
