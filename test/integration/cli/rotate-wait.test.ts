// `rotor rotate --wait` piped (not a terminal), against a worker: grace wakes the run several times
// to sample the old credential's use, and the output still says grace once, with when grace ends.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { absolute } from '../../../src/cli/format/time.js';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { listRuns, listSteps } from '../../../src/state/runs.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { cliFixture, type CliFixture } from '../../helpers/cli-fixture.js';
import { TEST_TIMINGS, secretFixture, waitForRunEnd } from '../engine/fixtures.js';
import { createMemoryTarget, memoryRotator } from '../engine/memory-target.js';

let fx: CliFixture;
let kit: QueueKit;
let runtime: Runtime;

beforeAll(async () => {
  fx = await cliFixture('rotate wait');
  // The CLI enqueues on the state database's queue (no ROTOR_REDIS_URL): the worker here takes it.
  kit = await createQueueKit({ kind: 'postgres', url: fx.db.url }, silentLogger);
  runtime = await startRuntime({
    pool: fx.db.pool,
    kit,
    log: silentLogger,
    stores: { local: createLocalStore({ pool: fx.db.pool, key: randomBytes(32) }) },
    rotators: { memory: memoryRotator(createMemoryTarget()) },
    resolveRef: async () => '',
    nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
    ...TEST_TIMINGS,
  });
  // A first rotation without grace: then there is an old credential whose use grace samples.
  const sync = (graceMs: number) =>
    fx.sync([secretFixture('app/db', { graceMs, hash: `grace-${graceMs}` })], {
      targetKeyOf: () => 'memory://target',
      nextDueOf: () => new Date(Date.now() + 86_400_000),
    });
  await sync(0);
  await waitForRunEnd(fx.db.pool, (await requestRotation(fx.db.pool, kit, { secretId: 'app/db', trigger: 'manual', actor: 'test' })).id);
  // Two seconds of grace, sampled every 400 ms (a fifth of it).
  await sync(2_000);
});

afterAll(async () => {
  await runtime?.close();
  await kit?.close();
  await fx?.close();
});

it('piped: says grace once, until the end of grace, though the run woke several times in it', async () => {
  const r = await fx.cli(['rotate', 'app/db', '--wait']);
  expect(r.code, r.stderr).toBe(0);
  const [run] = await listRuns(fx.db.pool, 'app/db');
  expect(run?.state).toBe('done');
  // The engine did wake the run during grace: each pass is a grace step row.
  expect((await listSteps(fx.db.pool, run!.id)).filter((s) => s.step === 'grace').length).toBeGreaterThanOrEqual(3);
  const graceLines = r.stdout.split('\n').filter((l) => /^ {2}… grace\b/.test(l));
  expect(graceLines).toHaveLength(1);
  expect(graceLines[0]).toMatch(new RegExp(`^  … grace\\s+until ${absolute(run!.graceUntil!)}( \\(\\d+s elapsed\\))?$`));
  expect(r.stdout).toMatch(/✓ grace\s+succeeded\s+\d+s$/m);
  expect(r.stdout).toContain('done (rotated)');
  expect(r.stdout).not.toContain('\r');
});
