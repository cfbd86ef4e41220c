// The emergency monitor: while an emergency needs a worker, the routine worker takes no new jobs,
// and it takes them again once none does. It asks the state database often only while that can
// matter (the routine worker paused or busy); an idle worker is checked seldom, and at once when a
// routine job starts.
import { EventEmitter } from 'node:events';
import type { Worker } from 'bullmq';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorEmergencies } from '../../../src/engine/emergency.js';
import { silentLogger } from '../../../src/log.js';
import type { RunJobData } from '../../../src/queue/backend.js';
import { migrate } from '../../../src/state/migrate.js';
import { createRun } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';
import { secretFixture } from './fixtures.js';

/** The part of a BullMQ worker the monitor uses: its 'active' event, pause and resume. */
class RoutineWorker extends EventEmitter {
  paused = false;
  async pause(): Promise<void> {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

describe('the emergency monitor', () => {
  let db: TestDatabase;
  let checks = 0;
  /** The state pool, counting the monitor's checks (the only statement it makes). */
  let counted: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase('emergency_monitor');
    await migrate(db.pool);
    await syncSecrets(db.pool, [secretFixture('mon/one')], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date() });
    counted = { query: (...args: unknown[]) => (checks++, (db.pool.query as (...a: unknown[]) => unknown)(...args)) } as unknown as pg.Pool;
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('checks an idle worker seldom, a busy or paused one often, pauses it while an emergency needs a worker and resumes it after', async () => {
    const routine = new RoutineWorker();
    const stop = monitorEmergencies(counted, routine as unknown as Worker<RunJobData>, silentLogger, {
      everyMs: 50,
      idleMs: 2_000,
      busyMs: 400,
    });
    const checksIn = async (ms: number) => {
      const before = checks;
      await new Promise((r) => setTimeout(r, ms));
      return checks - before;
    };
    try {
      // Idle: the first check, then the next only 2 s later (every 50 ms there would be about 20 by now).
      await new Promise((r) => setTimeout(r, 1_000));
      expect(checks).toBe(1);

      // A routine job starts: checked at once (long before the idle check is due), then often while busy.
      routine.emit('active');
      await waitFor(async () => checks >= 2, { timeoutMs: 700, message: 'a check right after the job started' });
      expect(await checksIn(300)).toBeGreaterThanOrEqual(2);
      expect(routine.paused).toBe(false);
      // No job for longer than the busy window: seldom again.
      await new Promise((r) => setTimeout(r, 300));
      expect(await checksIn(1_000)).toBeLessThanOrEqual(1);

      // An emergency run is queued: it needs a worker, so once a routine job starts the routine
      // worker takes no new one, and it is checked often while paused, long after the busy window.
      const run = await createRun(db.pool, { secretId: 'mon/one', trigger: 'emergency', actor: 'test', reason: 'drill' });
      routine.emit('active');
      await waitFor(async () => routine.paused, { timeoutMs: 700, message: 'the routine worker paused' });
      await new Promise((r) => setTimeout(r, 500));
      expect(await checksIn(1_000)).toBeGreaterThanOrEqual(4);
      // It waits out a grace window: it needs no worker then.
      await db.pool.query(`update runs set state = 'waiting', wait_until = now() + interval '1 hour' where id = $1`, [run.id]);
      await waitFor(async () => !routine.paused, { timeoutMs: 700, message: 'the routine worker resumed' });
      await db.pool.query(`update runs set state = 'done', finished_at = now(), wait_until = null where id = $1`, [run.id]);
    } finally {
      stop();
    }
    expect(await checksIn(500)).toBe(0);
  });
});
