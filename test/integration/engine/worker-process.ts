// A rotor worker in its own process, for tests that SIGKILL it. Configured by environment:
// DATABASE_URL, REDIS_URL (optional), MASTER_KEY (hex), STEP_DELAY_MS (slows each rotator call so a
// kill can land inside a step). Prints "ready" when its workers run.
import pg from 'pg';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit } from '../../../src/queue/backend.js';
import type { Rotator } from '../../../src/rotator/contract.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/implementations.js';
import { startRuntime } from '../../../src/runtime.js';
import { createLocalStore } from '../../../src/store/local.js';

const env = process.env;
const delay = Number(env.STEP_DELAY_MS ?? 0);
const pause = () => new Promise((r) => setTimeout(r, delay));

function slowed(rotator: Rotator<unknown>): Rotator<unknown> {
  const wrap = <A extends unknown[], R>(fn: ((...a: A) => Promise<R>) | undefined) =>
    fn &&
    (async (...a: A) => {
      await pause();
      return fn.apply(rotator, a);
    });
  return {
    ...rotator,
    preflight: wrap(rotator.preflight),
    generate: wrap(rotator.generate)!,
    apply: wrap(rotator.apply)!,
    verify: wrap(rotator.verify)!,
    revoke: wrap(rotator.revoke)!,
    inUse: wrap(rotator.inUse),
  };
}

const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 });
pool.on('error', () => undefined);
const kit = await createQueueKit(
  env.REDIS_URL ? { kind: 'redis', url: env.REDIS_URL, prefix: env.QUEUE_PREFIX ?? 'rotor' } : { kind: 'postgres', url: env.DATABASE_URL! },
  silentLogger,
);
await loadRotators(['postgres']);
await startRuntime({
  pool,
  kit,
  log: silentLogger,
  stores: { local: createLocalStore({ pool, key: Buffer.from(env.MASTER_KEY!, 'hex') }) },
  rotators: { postgres: slowed(rotatorFor('postgres')) },
  resolveRef: async (ref) => env[ref.slice('env:'.length)] ?? '',
  nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
  lockMs: 1_500,
  stalledMs: 500,
  leaseMs: 1_500,
  pollMs: 100,
});
process.stdout.write('ready\n');
