// The built-in webhook and command consumers through the real runtime: waves in order, signed
// notices, no value on the wire, and the run ends done with the old credential revoked.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature, type WebhookBody } from '../../../src/consumers/signing.js';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { TEST_TIMINGS, secretFixture, waitForRunEnd } from '../engine/fixtures.js';
import { createMemoryTarget, memoryRotator, type MemoryTarget } from '../engine/memory-target.js';
import { startReceiver, type Receiver } from './receiver.js';

/** The wave-2 command: tells the receiver it ran, and for which version. */
const REPORT = `
const res = await fetch(process.argv[2] + '/command-ran', { method: 'POST', body: process.env.ROTOR_VERSION_ID });
process.exit(res.ok ? 0 : 1);
`;

describe('webhook (wave 1) and command (wave 2) consumers in a real rotation', () => {
  const KEY = randomBytes(32).toString('hex');
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let target: MemoryTarget;
  let receiver: Receiver;
  let dir: string;
  const events: string[] = [];
  const bodies: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('consumers-engine');
    await migrate(db.pool);
    dir = await mkdtemp(join(tmpdir(), 'rotor-consumers-engine-'));
    await writeFile(join(dir, 'report.mjs'), REPORT);
    receiver = await startReceiver((req) => {
      if (req.url === '/command-ran') {
        events.push(`command:${req.body}`);
        return { status: 204 };
      }
      const ok = verifySignature(KEY, req.body, {
        timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
        signature: req.headers[SIGNATURE_HEADER] as string | undefined,
      }).ok;
      if (!ok) return { status: 401, body: 'bad signature' };
      bodies.push(req.body);
      const body = JSON.parse(req.body) as WebhookBody;
      events.push(`webhook:${body.versionId}`);
      return { status: 200, body: JSON.stringify({ version: body.versionId }) };
    });
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    target = createMemoryTarget();
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { local: createLocalStore({ pool: db.pool, key: randomBytes(32) }) },
      rotators: { memory: memoryRotator(target) },
      resolveRef: async (ref) => {
        if (ref !== 'env:APP_HOOK_KEY') throw new Error(`unknown reference ${ref}`);
        return KEY;
      },
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      ...TEST_TIMINGS,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.drop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('rotates to done: the webhook receiver has the signed notice before the command runs, and never the value', async () => {
    const secret = secretFixture('app/consumers', {
      graceMs: 200,
      consumers: [
        {
          name: 'api',
          type: 'webhook',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 5_000,
          params: { url: `${receiver.base}/rotor/reload`, secret: 'env:APP_HOOK_KEY', timeout: '2s' },
        },
        {
          name: 'reload-script',
          type: 'command',
          wave: 2,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 5_000,
          params: { run: process.execPath, args: [join(dir, 'report.mjs'), receiver.base], passValue: false, timeout: '10s' },
        },
      ],
    });
    await syncSecrets(db.pool, [secret], {
      actor: 'test',
      targetKeyOf: () => 'memory://target',
      nextDueOf: () => new Date(Date.now() + 86_400_000),
    });
    const store = runtime.deps.store('local');

    const first = await waitForRunEnd(
      db.pool,
      (await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' })).id,
    );
    expect(first).toMatchObject({ state: 'done', outcome: 'rotated' });
    const v1 = (await store.get(secret.id, 'CURRENT'))!;

    const run = await requestRotation(db.pool, kit, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    const ended = await waitForRunEnd(db.pool, run.id);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated', oldVersion: v1.versionId });
    const v2 = (await store.get(secret.id, 'CURRENT'))!;
    expect(v2.versionId).toBe(ended.newVersion);
    expect(target.works(v2.value)).toBe(true);
    expect(target.works(v1.value)).toBe(false);

    // Wave order, as the receiver saw it, for both rotations.
    expect(events).toEqual([`webhook:${v1.versionId}`, `command:${v1.versionId}`, `webhook:${v2.versionId}`, `command:${v2.versionId}`]);
    const consumers = await db.pool.query<{ consumer: string; confirmed_version: string; notified_at: Date; confirmed_at: Date }>(
      'select consumer, confirmed_version, notified_at, confirmed_at from run_consumers where run_id = $1 order by wave',
      [run.id],
    );
    expect(consumers.rows.map((r) => [r.consumer, r.confirmed_version])).toEqual([
      ['api', v2.versionId],
      ['reload-script', v2.versionId],
    ]);
    expect(consumers.rows[1]!.notified_at.getTime()).toBeGreaterThanOrEqual(consumers.rows[0]!.confirmed_at.getTime());

    const body = JSON.parse(bodies.at(-1)!) as WebhookBody;
    expect(body).toMatchObject({
      secretId: secret.id,
      runId: run.id,
      versionId: v2.versionId,
      store: { backend: 'local', location: secret.id },
    });
    for (const b of bodies) {
      expect(b).not.toContain(String(v1.value.password));
      expect(b).not.toContain(String(v2.value.password));
    }
  });
});
