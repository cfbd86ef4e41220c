// random-secret with target.publishPrevious: through grace CURRENT carries the old value beside the
// new one (`{"value", "previous"}`) and so does the env file a session middleware reads; the revoke
// step publishes CURRENT without it, tells the env file again and clears PREVIOUS. Without the
// setting nothing changes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requestRotation } from '../../../src/engine/request.js';
import { silentLogger } from '../../../src/log.js';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import { createQueueKit, type QueueKit } from '../../../src/queue/backend.js';
import { loadRotators } from '../../../src/rotator/catalogue.js';
import { startRuntime, type Runtime } from '../../../src/runtime.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture, waitForRunEnd } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'rotor-previous-'));
vi.stubEnv('ROTOR_ENV_FILE_ROOT', dir);

describe('random-secret publishing previous beside current', () => {
  let db: TestDatabase;
  let kit: QueueKit;
  let runtime: Runtime;
  let store: SecretStore;

  beforeAll(async () => {
    db = await createTestDatabase('publish_previous');
    await migrate(db.pool);
    kit = await createQueueKit({ kind: 'postgres', url: db.url }, silentLogger);
    await loadRotators(['random-secret']);
    store = createLocalStore({ pool: db.pool, key: randomBytes(32) });
    runtime = await startRuntime({
      pool: db.pool,
      kit,
      log: silentLogger,
      stores: { local: store },
      resolveRef: async () => '',
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      pollMs: 50,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await kit?.close();
    await db?.drop();
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  const secret = (id: string, publishPrevious: boolean): ResolvedSecret =>
    secretFixture(id, {
      graceMs: 1_500,
      rotator: { name: 'random-secret', params: { target: { publishPrevious } } },
      consumers: [
        {
          name: 'sessions-env',
          type: 'env-file',
          wave: 1,
          cacheTtlMs: undefined,
          confirmTimeoutMs: 10_000,
          params: { path: join(dir, `${id.replace('/', '-')}.env`), key: 'SESSION', format: 'env' },
        },
      ],
    });
  const start = async (id: string) => (await requestRotation(db.pool, kit, { secretId: id, trigger: 'manual', actor: 'test' })).id;
  const inGrace = (runId: string) =>
    waitFor(async () => (await db.pool.query("select 1 from runs where id = $1 and step = 'grace'", [runId])).rowCount === 1, {
      timeoutMs: 20_000,
    });
  const envFile = (id: string) => readFileSync(join(dir, `${id.replace('/', '-')}.env`), 'utf8');

  it('CURRENT and the env file hold both values through grace, and only the new one after revoke', async () => {
    const s = secret('sessions/signing', true);
    await syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    expect((await waitForRunEnd(db.pool, await start(s.id))).state).toBe('done');
    const first = (await store.get(s.id, 'CURRENT'))!;
    // The first rotation has nothing before it to publish.
    expect(Object.keys(first.value)).toEqual(['value']);

    for (let round = 0; round < 2; round++) {
      const old = String((await store.get(s.id, 'CURRENT'))!.value.value);
      const runId = await start(s.id);
      await inGrace(runId);
      const during = (await store.get(s.id, 'CURRENT'))!;
      expect(during.value.previous).toBe(old);
      expect(during.value.value).not.toBe(old);
      expect((await store.get(s.id, 'PREVIOUS'))!.value.value).toBe(old);
      expect(envFile(s.id)).toContain(`SESSION_PREVIOUS='${old}'`);
      expect(envFile(s.id)).toContain(`SESSION_VALUE='${during.value.value}'`);

      const run = await waitForRunEnd(db.pool, runId);
      expect(run).toMatchObject({ state: 'done', outcome: 'rotated' });
      const after = (await store.get(s.id, 'CURRENT'))!;
      expect(after.value).toEqual({ value: during.value.value });
      expect(after.versionId).toBe(`${run.newVersion}-settled`);
      expect(await store.get(s.id, 'PREVIOUS')).toBeNull();
      expect(envFile(s.id)).not.toContain(old);
      expect(envFile(s.id)).toContain(`SESSION_VALUE='${after.value.value}'`);
      expect(envFile(s.id)).toContain(`# rotor-version: ${after.versionId}`);
    }
  });

  it('without the setting, CURRENT holds the new value alone and PREVIOUS is cleared at revoke', async () => {
    const s = secret('sessions/plain', false);
    await syncSecrets(db.pool, [s], { actor: 'test', targetKeyOf: (x) => x.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    expect((await waitForRunEnd(db.pool, await start(s.id))).state).toBe('done');
    const runId = await start(s.id);
    await inGrace(runId);
    expect(Object.keys((await store.get(s.id, 'CURRENT'))!.value)).toEqual(['value']);
    expect(envFile(s.id)).not.toContain('SESSION_PREVIOUS');
    const run = await waitForRunEnd(db.pool, runId);
    expect((await store.get(s.id, 'CURRENT'))!.versionId).toBe(run.newVersion);
    expect(await store.get(s.id, 'PREVIOUS')).toBeNull();
  });
});
