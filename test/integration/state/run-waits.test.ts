// activeRunWaits: a staggered run names the run before it on its target and when it may start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../../src/state/migrate.js';
import { activeRunWaits } from '../../../src/state/run-waits.js';
import { createRun } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture } from '../engine/fixtures.js';

describe('activeRunWaits', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.pool);
    const secrets = ['w/a', 'w/b', 'w/other'].map((id) => secretFixture(id));
    await syncSecrets(db.pool, secrets, {
      actor: 'test',
      targetKeyOf: (s) => (s.id === 'w/other' ? 'memory://elsewhere' : 'memory://shared'),
      nextDueOf: () => new Date(Date.now() + 86_400_000),
    });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('says which run on the same target a staggered run waits behind, and until when', async () => {
    const now = new Date();
    const first = await createRun(db.pool, { secretId: 'w/a', trigger: 'schedule', actor: 'scheduler' });
    const until = new Date(now.getTime() + 60_000);
    const second = await createRun(db.pool, { secretId: 'w/b', trigger: 'schedule', actor: 'scheduler', notBefore: until });
    const alone = await createRun(db.pool, { secretId: 'w/other', trigger: 'schedule', actor: 'scheduler' });

    const waits = await activeRunWaits(db.pool, now);
    expect(waits.get(second.id)).toMatchObject({
      kind: 'stagger',
      until,
      target: 'memory://shared',
      behind: { runId: first.id, secretId: 'w/a', state: 'queued' },
    });
    // Runs that wait for nothing are absent.
    expect(waits.has(first.id)).toBe(false);
    expect(waits.has(alone.id)).toBe(false);

    // Past its not-before, the run waits no more.
    expect((await activeRunWaits(db.pool, new Date(until.getTime() + 1), [second.id])).size).toBe(0);
    expect([...(await activeRunWaits(db.pool, now, [first.id])).keys()]).toEqual([]);
  });
});
