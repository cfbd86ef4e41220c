// A rotor worker in its own process with the AWS fakes, for tests that SIGKILL it. The fakes keep
// their state in the test's database (postgresState), so AWS "survives" the kill as it would.
// Configured by environment: DATABASE_URL, MASTER_KEY (hex), ROTATOR (aws-rds-master,
// aws-iam-access-key or random-secret), RDS_DELAY_MS, KILL_AT (a point such as `inside:verify-new`, `after:create`,
// `modify-sent:create`: just after RDS accepted a new password, before it is applied, or `created:create`: just after
// generate returned, for IAM after CreateAccessKey answered, before the key is stored), GATED=1 (wait
// for a line on stdin before taking jobs). On reaching KILL_AT it prints `at <point>` and hangs
// until killed. Prints "ready" when its workers run.
import pg from 'pg';
import { KILLABLE_RUNTIME, checkpoint, gate, inside, killableEnvFile, killableStore } from '../../helpers/kill-points.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit } from '../../../src/queue/backend.js';
import type { Rotator } from '../../../src/rotator/contract.js';
import { loadRotators, rotatorFor } from '../../../src/rotator/catalogue.js';
import { startRuntime } from '../../../src/runtime.js';
import { createAwsSecretsManagerStore } from '../../../src/store/aws-secrets-manager/store.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { FakeIam, emptyIam } from '../../helpers/aws/iam.js';
import { installAwsFakes } from '../../helpers/aws/install.js';
import { FakeRds, emptyRds } from '../../helpers/aws/rds.js';
import { FakeSecretsManager, emptySecretsManager } from '../../helpers/aws/secrets-manager.js';
import { postgresState } from '../../helpers/aws/state.js';

const env = process.env;

const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 });
pool.on('error', () => undefined);
const sm = new FakeSecretsManager(postgresState(pool, 'secretsmanager', emptySecretsManager()));
const rds = new FakeRds(
  { adminUrl: env.DATABASE_URL!, applyDelayMs: Number(env.RDS_DELAY_MS ?? 300) },
  postgresState(pool, 'rds', emptyRds()),
);
// The moment RDS has taken a new password but not applied it: the window a crash is most likely to hurt.
const handle = rds.handle.bind(rds);
rds.handle = async (action, input) => {
  const out = await handle(action, input);
  if (action.startsWith('Modify') && input.MasterUserPassword !== undefined) await checkpoint('modify-sent:create');
  return out;
};
installAwsFakes({ sm, rds, iam: new FakeIam(postgresState(pool, 'iam', emptyIam())) });

const kit = await createQueueKit({ kind: 'postgres', url: env.DATABASE_URL! }, silentLogger);
const name = env.ROTATOR!;
await loadRotators([name]);
const real = rotatorFor(name);
const rotator: Rotator<unknown> = {
  ...real,
  // `created:create`: the value exists (for IAM, CreateAccessKey has answered) and is not stored yet.
  generate: async (ctx, current) => {
    const value = await real.generate(ctx, current);
    await checkpoint('created:create');
    return value;
  },
  apply: inside('create', real.apply.bind(real)),
  verify: inside('verify-new', real.verify.bind(real)),
  revoke: inside('revoke', real.revoke.bind(real)),
};
// A spare loads everything first and takes jobs only when told, so the test pays the start-up cost
// while the worker before it still runs.
await gate();
await startRuntime({
  ...KILLABLE_RUNTIME,
  pool,
  kit,
  log: silentLogger,
  stores: {
    local: createLocalStore({ pool, key: Buffer.from(env.MASTER_KEY!, 'hex') }),
    'aws-secrets-manager': killableStore(createAwsSecretsManagerStore()),
  },
  rotators: { [name]: rotator },
  consumers: { 'env-file': killableEnvFile },
  resolveRef: async () => '',
});
process.stdout.write('ready\n');
