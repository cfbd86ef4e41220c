// The alert watcher across restarts, on a real PostgreSQL: what happened while no dashboard was
// watching is said when one starts again, once; the very first start says nothing of the past.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/observe/alerts.js';
import { startWatcher, type Watcher } from '../../../src/observe/watcher.js';
import { silentLogger } from '../../../src/log.js';
import { appendAudit } from '../../../src/state/audit.js';
import { migrate } from '../../../src/state/migrate.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture } from '../engine/fixtures.js';

describe('the alert watcher', () => {
  let db: TestDatabase;
  const sent: Alert[][] = [];
  const running: Watcher[] = [];

  function watcher(): Watcher {
    const w = startWatcher({
      pool: db.pool,
      log: silentLogger,
      everyMs: 3_600_000,
      rules: () => ({ now: new Date(), dueSoonMs: 86_400_000, overdueToleranceMs: 0 }),
      alerts: { send: async (alerts) => void sent.push(alerts) },
    });
    running.push(w);
    return w;
  }
  const ids = (kind: Alert['kind']) =>
    sent
      .flat()
      .filter((a) => a.kind === kind)
      .map((a) => a.secretId)
      .sort();
  const overdue = (id: string) => db.pool.query(`update secrets set next_due_at = now() - interval '1 day' where id = $1`, [id]);

  beforeAll(async () => {
    db = await createTestDatabase('alert watcher');
    await migrate(db.pool);
    const secrets = [
      ...['a/one', 'a/two', 'a/three', 'a/four'].map((id) => secretFixture(id)),
      // A key only a person can rotate: rotor never starts its run, so its owner hears when it falls due.
      secretFixture('m/portal', { rotator: { name: 'manual', params: {} } }),
    ];
    await syncSecrets(db.pool, secrets, {
      actor: 'test',
      targetKeyOf: () => 'memory://t',
      nextDueOf: () => new Date(Date.now() + 86_400_000),
    });
  });

  afterAll(async () => {
    for (const w of running) await w.close();
    await db?.drop();
  });

  it('says nothing of the past at its first start, then what happens while it runs', async () => {
    await appendAudit(db.pool, { actor: 'worker:x', action: 'run.needs-attention', secretId: 'a/one', reason: 'before any dashboard' });
    await overdue('a/one');
    const first = watcher();
    expect(await first.poll()).toBe(true);
    expect(sent.flat()).toEqual([]);
    await appendAudit(db.pool, { actor: 'worker:x', action: 'run.needs-attention', secretId: 'a/two', reason: 'while watching' });
    await first.poll();
    expect(ids('needs-attention')).toEqual(['a/two']);
    await first.close();
  });

  it('says, when it starts again, what happened while no dashboard was watching, and only once', async () => {
    sent.length = 0;
    // Down time: a run needs attention, an emergency is asked for, a secret becomes overdue.
    await appendAudit(db.pool, { actor: 'worker:x', action: 'run.needs-attention', secretId: 'a/three', reason: 'while down' });
    await appendAudit(db.pool, {
      actor: 'cli:bob',
      action: 'run.requested',
      secretId: 'a/four',
      reason: 'leaked',
      detail: { trigger: 'emergency' },
    });
    await overdue('a/two');
    const again = watcher();
    await again.poll();
    expect(ids('needs-attention')).toEqual(['a/three']);
    expect(ids('emergency')).toEqual(['a/four']);
    expect(ids('overdue')).toEqual(['a/two']); // a/one was overdue before the first start: still not news
    await again.close();

    sent.length = 0;
    const third = watcher();
    await third.poll();
    await third.poll();
    expect(sent.flat()).toEqual([]);
    // Two dashboards: the second is not elected while the first sends, and sends nothing.
    const other = watcher();
    expect(await other.poll()).toBe(false);
    await appendAudit(db.pool, { actor: 'worker:x', action: 'run.needs-attention', secretId: 'a/four', reason: 'after takeover' });
    await third.close();
    expect(await other.poll()).toBe(true); // took over where the first stopped
    expect(ids('needs-attention')).toEqual(['a/four']);
  });

  it("tells a manual secret's owner once when it falls due, also across a restart", async () => {
    for (const w of running.splice(0)) await w.close();
    sent.length = 0;
    // Within 10 % of its one-day cadence: due soon.
    await db.pool.query(`update secrets set next_due_at = now() + interval '1 hour' where id = 'm/portal'`);
    const w = watcher();
    await w.poll();
    const due = sent.flat().filter((a) => a.kind === 'manual-due');
    expect(due.map((a) => a.secretId)).toEqual(['m/portal']);
    expect(due[0]?.reason).toBe('owner platform-team: rotate it by hand, then rotor attest m/portal');
    await w.poll();
    await w.close();
    const restarted = watcher();
    await restarted.poll();
    expect(sent.flat().filter((a) => a.kind === 'manual-due')).toHaveLength(1);
  });
});
