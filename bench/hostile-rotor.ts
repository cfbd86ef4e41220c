// The rotor under attack in `npm run bench -- hostile`: state database, queue, workers (memory
// target) and the dashboard with its default limits, in one process, as `rotor start` runs them.
// Prints {"url"} when up; on "rotate <n>" from stdin runs n rotations (five secrets in parallel,
// each one after another) and prints {"done","failed","ms"}. Its parent counts its open files.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { dashboardSettings } from '../src/dashboard/config.js';
import { startDashboard } from '../src/dashboard/server.js';
import { requestRotation } from '../src/engine/request.js';
import { createLogger } from '../src/log.js';
import { createQueueKit } from '../src/queue/backend.js';
import { startRuntime } from '../src/runtime.js';
import { migrate } from '../src/state/migrate.js';
import { syncSecrets } from '../src/state/secrets.js';
import { createLocalStore } from '../src/store/local/store.js';
import { secretFixture, TEST_TIMINGS, waitForRunEnd } from '../test/integration/engine/fixtures.js';
import { createMemoryTarget, memoryRotator } from '../test/integration/engine/memory-target.js';

const [dbUrl, redisUrl] = process.argv.slice(2) as [string, string];
const log = createLogger({ level: 'silent' });
const pool = new pg.Pool({ connectionString: dbUrl, max: 10 });
pool.on('error', () => undefined);
await migrate(pool);
const kit = await createQueueKit({ kind: 'redis', url: redisUrl, prefix: 'hostile' }, log);
const store = createLocalStore({ pool, key: randomBytes(32) });
await startRuntime({
  pool,
  kit,
  log,
  stores: { local: store },
  rotators: { memory: memoryRotator(createMemoryTarget()) },
  resolveRef: async () => '',
  nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
  ...TEST_TIMINGS,
});
const ids = [1, 2, 3, 4, 5].map((i) => `flood/secret-${i}`);
// Each secret its own pair of users on the target: rotations of different secrets run in parallel.
const secrets = ids.map((id, i) =>
  secretFixture(id, { graceMs: 100, emergencyGraceMs: 100, rotator: { name: 'memory', params: { users: [`u${i}_a`, `u${i}_b`] } } }),
);
await syncSecrets(pool, secrets, {
  actor: 'bench',
  targetKeyOf: (s) => `memory://${s.id}`,
  nextDueOf: () => new Date(Date.now() + 86_400_000),
});
const server = await startDashboard({
  pool,
  kit,
  log,
  stores: { local: store },
  settings: dashboardSettings({ ROTOR_DASHBOARD_PORT: '0', ROTOR_DASHBOARD_POLL_MS: '200' }),
});
process.stdout.write(JSON.stringify({ url: server.url }) + '\n');

for await (const line of createInterface({ input: process.stdin })) {
  const n = Number(/^rotate (\d+)$/.exec(line)?.[1] ?? 0);
  if (!n) continue;
  const started = Date.now();
  let done = 0;
  let failed = 0;
  const why = new Set<string>();
  await Promise.all(
    ids.map(async (id, k) => {
      for (let i = k; i < n; i += ids.length) {
        const run = await requestRotation(pool, kit, { secretId: id, trigger: 'manual', actor: 'bench', reason: 'under flood' });
        const end = await waitForRunEnd(pool, run.id, 120_000).catch(() => undefined);
        if (end?.state === 'done') done++;
        else {
          failed++;
          why.add(end ? `${end.state}: ${end.error ?? ''}`.slice(0, 200) : 'did not end within 120 s');
        }
      }
    }),
  );
  process.stdout.write(JSON.stringify({ done, failed, ms: Date.now() - started, why: [...why] }) + '\n');
}
