// A rotor worker in its own process, for tests that SIGKILL it. Configured by environment:
// DATABASE_URL, REDIS_URL (optional), MASTER_KEY (hex), ROTATOR (default postgres), KILL_AT (a point
// such as `inside:verify-new`, `after:create`, `applied:create` / `applied:revoke`: the target
// changed, the step not yet recorded, or `notified:rollback`: a rollback told the env-file consumer
// the old version and has not recorded it), LOG_FILE (optional: rotor's log at debug level, appended, for
// leak scans), GATED=1 (a spare: wait for a line on stdin before taking jobs). On reaching KILL_AT it
// prints `at <point>` and hangs until killed. Prints "ready" when its workers run.
import { pino } from 'pino';
import pg from 'pg';
import { KILLABLE_RUNTIME, checkpoint, gate, inside, killableEnvFile, killableStore } from '../../helpers/kill-points.js';
import { createLogger, silentLogger } from '../../../src/log.js';
import { createQueueKit } from '../../../src/queue/backend.js';
import type { Consumer } from '../../../src/consumers/contract.js';
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
const name = env.ROTATOR ?? 'postgres';
await loadRotators([name]);
const real = rotatorFor(name);
/** `fn`, then the kill point `applied:<step>`: the target has changed, the engine does not know yet. */
const thenPoint =
  <A extends unknown[], R>(step: string, fn: (...a: A) => Promise<R>) =>
  async (...a: A): Promise<R> => {
    const result = await fn(...a);
    await checkpoint(`applied:${step}`);
    return result;
  };
const rotator: Rotator<unknown> = {
  ...real,
  // Inside create: after the new credential is staged as PENDING, before it is applied.
  apply: inside('create', thenPoint('create', real.apply.bind(real))),
  verify: inside('verify-new', real.verify.bind(real)),
  // inUse is also sampled during grace: only the call made in verify-consumers is that kill point.
  inUse: async (ctx, value) => {
    const step = (await pool.query<{ step: string }>('select step from runs where id = $1', [ctx.runId])).rows[0]?.step;
    if (step === 'verify-consumers') await checkpoint('inside:verify-consumers');
    return real.inUse!.call(real, ctx, value);
  },
  revoke: inside('revoke', thenPoint('revoke', real.revoke.bind(real))),
};
/** The env-file consumer: `inside:distribute` before each notify, `notified:rollback` after a rollback's. */
const envFile: Consumer<unknown> = {
  ...killableEnvFile,
  notify: async (ctx, notice, value) => {
    await killableEnvFile.notify(ctx, notice, value);
    if (env.KILL_AT !== 'notified:rollback') return;
    const step = (await pool.query<{ step: string }>('select step from runs where id = $1', [notice.runId])).rows[0]?.step;
    if (step === 'rollback') await checkpoint('notified:rollback');
  },
};
await gate();
await startRuntime({
  ...KILLABLE_RUNTIME,
  pool,
  kit,
  log: env.LOG_FILE
    ? createLogger({ level: 'debug', destination: pino.destination({ dest: env.LOG_FILE, append: true, sync: true }) })
    : silentLogger,
  stores: { local: killableStore(createLocalStore({ pool, key: Buffer.from(env.MASTER_KEY!, 'hex') })) },
  rotators: { [name]: rotator },
  consumers: { 'env-file': envFile },
  resolveRef: async (ref) => env[ref.slice('env:'.length)] ?? '',
});
process.stdout.write('ready\n');
