// A rotor worker in its own process, for tests that SIGKILL it. Configured by environment:
// DATABASE_URL, REDIS_URL (optional), MASTER_KEY (hex), KILL_AT (a point such as `inside:verify-new`
// or `after:create`). On reaching KILL_AT it prints `at <point>` and hangs until it is killed.
// Prints "ready" when its workers run.
import pg from 'pg';
import { KILLABLE_RUNTIME, checkpoint, inside, killableEnvFile, killableStore } from '../../helpers/kill-points.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit } from '../../../src/queue/backend.js';
import type { Rotator } from '../../../src/rotator/contract.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import { startRuntime } from '../../../src/runtime.js';
import { createLocalStore } from '../../../src/store/local/store.js';

const env = process.env;

const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 });
pool.on('error', () => undefined);
const kit = await createQueueKit(
  env.REDIS_URL ? { kind: 'redis', url: env.REDIS_URL, prefix: env.QUEUE_PREFIX ?? 'rotor' } : { kind: 'postgres', url: env.DATABASE_URL! },
  silentLogger,
);
await loadRotators(['postgres']);
const real = rotatorFor('postgres');
const rotator: Rotator<unknown> = {
  ...real,
  // Inside create: after the new credential is staged as PENDING, before it is applied.
  apply: inside('create', real.apply.bind(real)),
  verify: inside('verify-new', real.verify.bind(real)),
  // inUse is also sampled during grace: only the call made in verify-consumers is that kill point.
  inUse: async (ctx, value) => {
    const step = (await pool.query<{ step: string }>('select step from runs where id = $1', [ctx.runId])).rows[0]?.step;
    if (step === 'verify-consumers') await checkpoint('inside:verify-consumers');
    return real.inUse!.call(real, ctx, value);
  },
  revoke: inside('revoke', real.revoke.bind(real)),
};
await startRuntime({
  ...KILLABLE_RUNTIME,
  pool,
  kit,
  log: silentLogger,
  stores: { local: killableStore(createLocalStore({ pool, key: Buffer.from(env.MASTER_KEY!, 'hex') })) },
  rotators: { postgres: rotator },
  consumers: { 'env-file': killableEnvFile },
  resolveRef: async (ref) => env[ref.slice('env:'.length)] ?? '',
});
process.stdout.write('ready\n');
