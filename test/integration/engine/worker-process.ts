// A rotor worker in its own process, for tests that SIGKILL it. Configured by environment:
// DATABASE_URL, REDIS_URL (optional), MASTER_KEY (hex), KILL_AT (a point such as `inside:verify-new`
// or `after:create`). On reaching KILL_AT it prints `at <point>` and hangs until it is killed.
// Prints "ready" when its workers run.
import pg from 'pg';
import { checkpoint, inside } from '../../helpers/kill-points.js';
import { envFileConsumer } from '../../../src/consumers/env-file.js';
import type { Consumer } from '../../../src/consumers/contract.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit } from '../../../src/queue/backend.js';
import type { Rotator } from '../../../src/rotator/contract.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/implementations.js';
import { startRuntime } from '../../../src/runtime.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local.js';

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
const localStore = createLocalStore({ pool, key: Buffer.from(env.MASTER_KEY!, 'hex') });
const store: SecretStore = { ...localStore, backend: 'local', promote: inside('promote', localStore.promote.bind(localStore)) };
const consumer: Consumer<unknown> = { ...(envFileConsumer as Consumer<unknown>), notify: inside('distribute', (envFileConsumer as Consumer<unknown>).notify) };
await startRuntime({
  pool,
  kit,
  log: silentLogger,
  stores: { local: store },
  rotators: { postgres: rotator },
  consumers: { 'env-file': consumer },
  resolveRef: async (ref) => env[ref.slice('env:'.length)] ?? '',
  nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
  onStepDone: (_runId, step) => checkpoint(`after:${step}`),
  lockMs: 1_500,
  stalledMs: 500,
  leaseMs: 1_500,
  pollMs: 100,
});
process.stdout.write('ready\n');
