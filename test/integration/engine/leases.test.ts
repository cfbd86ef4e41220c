// What a pass may still write, and when a step is given up: passes driven directly (no queue), on a
// real PostgreSQL, with the run rows left exactly as a killed or stalled worker leaves them.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EngineDeps } from '../../../src/engine/deps.js';
import { processRun } from '../../../src/engine/processor.js';
import { silentLogger } from '../../../src/log.js';
import type { Rotator } from '../../../src/rotator/contract.js';
import { listAudit } from '../../../src/state/audit.js';
import { migrate } from '../../../src/state/migrate.js';
import { createRun, getRun, listSteps, type RunRow } from '../../../src/state/runs.js';
import { syncSecrets } from '../../../src/state/secrets.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { secretFixture } from './fixtures.js';
import { createMemoryTarget, memoryRotator, type MemoryTarget } from './memory-target.js';

class DelayedError extends Error {
  override name = 'DelayedError';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('leases and attempts', () => {
  let db: TestDatabase;
  let target: MemoryTarget;
  /** Replaces the memory rotator's apply for one test. */
  let applyHook: ((ctx: { signal: AbortSignal }) => Promise<void>) | undefined;
  const secret = secretFixture('lease/db', { graceMs: 200 });
  const storeKey = randomBytes(32);

  function deps(leaseMs: number): EngineDeps {
    const base = memoryRotator(target) as Rotator<unknown>;
    const rotator: Rotator<unknown> = {
      ...base,
      async apply(ctx, next, current) {
        if (applyHook) await applyHook(ctx);
        return base.apply(ctx, next, current);
      },
    };
    return {
      pool: db.pool,
      log: silentLogger,
      workerId: 'worker:test',
      rotator: () => rotator,
      store: () => createLocalStore({ pool: db.pool, key: storeKey }),
      consumer: () => {
        throw new Error('no consumers in these tests');
      },
      resolveRef: async () => '',
      nextDue: (_s, last) => new Date(last.getTime() + 86_400_000),
      now: () => new Date(),
      leaseMs,
      pollMs: 50,
    };
  }

  /** One pass that may end in a delay, as a queue job would run it: when it asked to be run again, if it did. */
  async function passUntil(d: EngineDeps, runId: string): Promise<Date | undefined> {
    let until: Date | undefined;
    try {
      await processRun(d, runId, {
        signal: new AbortController().signal,
        delay: async (at) => {
          until = at;
          throw new DelayedError();
        },
      });
    } catch (err) {
      if (!(err instanceof DelayedError)) throw err;
    }
    return until;
  }

  /** Runs passes as the queue would: each delay ends the pass, the next starts when it is due. */
  async function drive(d: EngineDeps, runId: string): Promise<RunRow> {
    for (let pass = 0; pass < 100; pass++) {
      const until = await passUntil(d, runId);
      const run = (await getRun(db.pool, runId))!;
      if (run.state === 'done' || run.state === 'needs-attention') return run;
      await sleep(Math.max(0, (until?.getTime() ?? Date.now()) - Date.now()));
    }
    throw new Error(`run ${runId} did not end in 100 passes`);
  }

  beforeAll(async () => {
    db = await createTestDatabase('leases');
    await migrate(db.pool);
    target = createMemoryTarget();
    await syncSecrets(db.pool, [secret], {
      actor: 'test',
      targetKeyOf: () => 'memory://target',
      nextDueOf: () => new Date(Date.now() + 86_400_000),
    });
  });

  afterAll(async () => {
    await db?.drop();
  });

  beforeEach(() => {
    applyHook = undefined;
    target.calls.length = 0;
  });

  it('counts only attempts, not waits: a clean rotation through grace and drain spends one attempt per step', async () => {
    const run = await createRun(db.pool, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    const ended = await drive(deps(5_000), run.id);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
    const steps = await listSteps(db.pool, run.id);
    expect(steps.some((s) => s.status === 'waiting')).toBe(true); // the grace was waited out
    expect(steps.filter((s) => s.status === 'succeeded')).toHaveLength(8);
    expect(ended.totalAttempts).toBe(8);
  });

  it('gives up a step whose every attempt died with its worker, instead of starting it forever', async () => {
    const run = await createRun(db.pool, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    // What three workers killed inside `create` leave behind: the attempts counted, each step row
    // started and never ended, the last lease held by a dead pass and expired.
    await db.pool.query(
      `update runs set state = 'running', started_at = now(), step_attempt = 3, total_attempts = 3,
         lease_owner = 'worker:dead:1', lease_until = now() - interval '1 second' where id = $1`,
      [run.id],
    );
    for (const attempt of [1, 2, 3]) {
      await db.pool.query(`insert into steps (run_id, step, attempt, status) values ($1, 'create', $2, 'started')`, [run.id, attempt]);
    }
    const ended = await drive(deps(5_000), run.id);
    expect(ended).toMatchObject({ state: 'needs-attention', outcome: 'discarded' });
    expect(ended.error).toContain('create failed after 3 attempts');
    expect(ended.error).toContain('the worker stopped during each of its 3 attempts');
    expect(target.calls).not.toContain('generate'); // no fourth attempt
    const actions = (await listAudit(db.pool, { runId: run.id })).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['run.discard', 'run.needs-attention']));
  });

  /** One pass, as a queue job would run it; returns what it was asked to delay until, if anything. */
  async function onePass(d: EngineDeps, runId: string): Promise<void> {
    await processRun(d, runId, {
      signal: new AbortController().signal,
      delay: async () => {
        throw new DelayedError();
      },
    });
  }

  async function leaseOwner(runId: string): Promise<string | null> {
    return (await db.pool.query<{ owner: string | null }>('select lease_owner as owner from runs where id = $1', [runId])).rows[0]!.owner;
  }

  async function expectNothingRecorded(runId: string): Promise<void> {
    const run = (await getRun(db.pool, runId))!;
    expect(run).toMatchObject({ step: 'create', newVersion: null });
    expect(await leaseOwner(runId)).toBe('worker:other:1');
    const steps = await listSteps(db.pool, runId);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ step: 'create', status: 'failed' });
    expect(steps[0]!.error).toMatch(/lost the run's lease/);
    const actions = (await listAudit(db.pool, { runId })).map((a) => a.action);
    expect(actions).not.toContain('step.create');
  }

  async function newHolderFinishes(runId: string): Promise<void> {
    // The other pass's lease runs out (as when it, too, died): the next pass takes the run and ends it.
    await db.pool.query(`update runs set lease_until = now() - interval '1 second' where id = $1`, [runId]);
    const ended = await drive(deps(5_000), runId);
    expect(ended).toMatchObject({ state: 'done', outcome: 'rotated' });
    expect(ended.newVersion).toBe(`${runId}-2`); // the first attempt's credential was dropped, not used
  }

  const stealLease = (runId: string) =>
    db.pool.query(`update runs set lease_owner = 'worker:other:1', lease_until = now() + interval '1 minute' where id = $1`, [runId]);

  it("a job that finds the run's lease held looks again when that lease expires, not a whole lease later", async () => {
    const run = await createRun(db.pool, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    // What a worker killed 58 s into a 60 s lease leaves: its pass's lease, 2 s left to run.
    await db.pool.query(
      `update runs set state = 'running', started_at = now(), lease_owner = 'worker:dead:1', lease_until = now() + interval '2 seconds'
       where id = $1`,
      [run.id],
    );
    const asked = Date.now();
    const until = await passUntil(deps(60_000), run.id);
    const waitMs = until!.getTime() - asked;
    expect(waitMs).toBeGreaterThanOrEqual(1_500);
    expect(waitMs).toBeLessThan(3_000); // was 60 s: the whole lease, from when the job looked
    expect(target.calls).toHaveLength(0); // nothing ran while the lease was held
    // Once it has expired, the job that looks again takes the run and finishes it.
    await sleep(Math.max(0, until!.getTime() - Date.now()));
    expect(await drive(deps(60_000), run.id)).toMatchObject({ state: 'done', outcome: 'rotated' });
  });

  it('a pass whose lease was taken while a step ran records nothing of that step; the new holder goes on', async () => {
    const run = await createRun(db.pool, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    // The step ignores its signal and finishes after another pass took the run (a stall past the lease).
    applyHook = async () => {
      applyHook = undefined;
      await stealLease(run.id);
    };
    await onePass(deps(60_000), run.id); // ends quietly: not a failure of the step
    expect(target.calls).toContain('apply');
    await expectNothingRecorded(run.id);
    await newHolderFinishes(run.id);
  });

  it('a renewal that finds the lease gone aborts the step in flight through its signal', async () => {
    const run = await createRun(db.pool, { secretId: secret.id, trigger: 'manual', actor: 'test' });
    let reason: unknown;
    applyHook = async (ctx) => {
      applyHook = undefined;
      await stealLease(run.id);
      // Renewal runs every leaseMs / 3 = 100 ms; the step waits for its signal (3 s at most).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3_000);
        ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      reason = ctx.signal.reason;
      ctx.signal.throwIfAborted();
    };
    const started = Date.now();
    await onePass(deps(300), run.id);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((reason as Error | undefined)?.name).toBe('LeaseLostError');
    await expectNothingRecorded(run.id);
    await newHolderFinishes(run.id);
  });
});
