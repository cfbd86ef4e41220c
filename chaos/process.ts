// One rotor process of the chaos run, spawned by the harness: a worker (startRuntime: both lanes,
// no scheduler, as `rotor worker`) or the scheduler (the tick alone: it only enqueues runs and
// re-enqueues lost ones). A real pino logger writes to stderr, which the harness keeps in a file
// and scans for secret values. Configured by environment (CHAOS_*); says "ready" over IPC.
import type { Consumer } from '../src/consumers/contract.js';
import { createLogger } from '../src/log.js';
import { nextDue } from '../src/policy/schedule.js';
import { createQueueKit } from '../src/queue/backend.js';
import { startScheduler, type TickOptions } from '../src/engine/scheduler.js';
import type { Rotator } from '../src/rotator/contract.js';
import { loadRotators, rotatorFor } from '../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../src/runtime.js';
import { createStatePool } from '../src/state/db.js';
import { createLocalStore } from '../src/store/local/store.js';
import { chaosClientConsumer } from './client-consumer.js';

const env = process.env;
const role = env.CHAOS_ROLE === 'scheduler' ? 'scheduler' : 'worker';
const name = env.CHAOS_NAME ?? role;
const log = createLogger({ level: env.CHAOS_LOG_LEVEL ?? 'info' }).child({ process: name });
const timing = JSON.parse(env.CHAOS_TIMING ?? '{}') as {
  lockMs: number;
  stalledMs: number;
  leaseMs: number;
  pollMs: number;
  concurrency: number;
  tickMs: number;
  tick: TickOptions;
};

const pool = createStatePool({ url: env.CHAOS_STATE_URL!, max: 12, applicationName: `rotor-chaos-${name}` });
const kit = await createQueueKit({ kind: 'redis', url: env.CHAOS_REDIS_URL!, prefix: env.CHAOS_QUEUE_PREFIX ?? 'rotor' }, log);

let runtime: Runtime | undefined;
if (role === 'worker') {
  const rotatorNames = (env.CHAOS_ROTATORS ?? 'postgres').split(',');
  await loadRotators(rotatorNames);
  const rotators: Record<string, Rotator<unknown>> = {};
  for (const n of rotatorNames) {
    const real = rotatorFor(n);
    // The test oracle: every generated value goes to the harness (over the IPC pipe, never a log or
    // a file), which then looks for it in Redis, the logs and the plaintext tables.
    rotators[n] = {
      ...real,
      generate: async (...a) => {
        const value = await real.generate(...a);
        process.send?.({ kind: 'generated', value });
        return value;
      },
    };
  }
  runtime = await startRuntime({
    pool,
    kit,
    log,
    stores: { local: createLocalStore({ pool, key: Buffer.from(env.CHAOS_MASTER_KEY!, 'hex') }) },
    rotators,
    consumers: { 'chaos-client': chaosClientConsumer as Consumer<unknown> },
    resolveRef: async (ref) => (ref.startsWith('env:') ? (env[ref.slice(4)] ?? '') : ''),
    nextDue: (secret, last) => nextDue({ secret, lastSuccessAt: last, now: new Date() }),
    concurrency: timing.concurrency,
    lockMs: timing.lockMs,
    stalledMs: timing.stalledMs,
    leaseMs: timing.leaseMs,
    pollMs: timing.pollMs,
  });
} else {
  // What startRuntime does with its `scheduler` option, without run workers of its own.
  await startScheduler(pool, kit, log, () => new Date(), { everyMs: timing.tickMs, ...timing.tick });
}
log.info({ role }, 'chaos process ready');
process.send?.({ kind: 'ready' });

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 15_000);
  await runtime?.close().catch(() => undefined);
  await kit.close().catch(() => undefined);
  await pool.end().catch(() => undefined);
  clearTimeout(force);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The harness going away (its IPC channel closes) ends this process too.
process.on('disconnect', () => void stop());
