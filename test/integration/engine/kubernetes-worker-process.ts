// A rotor worker in its own process whose store is a Kubernetes Secret and whose consumers are
// Deployments, for the SIGKILL test of a rollout wait. Configured by environment: DATABASE_URL,
// KUBECONFIG (the fake API server's), and the admin URL the policy references. Prints "ready".
import pg from 'pg';
import { loadConsumers } from '../../../src/consumers/catalogue.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit } from '../../../src/queue/backend.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime } from '../../../src/runtime.js';
import { createKubernetesStore } from '../../../src/store/kubernetes/store.js';
import { KILLABLE_RUNTIME } from '../../helpers/kill-points.js';

const env = process.env;
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 });
pool.on('error', () => undefined);
const kit = await createQueueKit({ kind: 'postgres', url: env.DATABASE_URL! }, silentLogger);
await loadRotators(['postgres']);
await loadConsumers(['kubernetes']);
await startRuntime({
  ...KILLABLE_RUNTIME,
  onStepDone: undefined,
  pool,
  kit,
  log: silentLogger,
  stores: { kubernetes: createKubernetesStore() },
  resolveRef: async (ref) => env[ref.slice('env:'.length)] ?? '',
});
process.stdout.write('ready\n');
