// Builders for engine tests: a resolved secret with fast timings, and a run waiter.
import type pg from 'pg';
import type { ResolvedSecret } from '../../../src/policy/types.js';
import type { RuntimeOptions } from '../../../src/runtime.js';
import { getRun, type RunRow, type RunState } from '../../../src/state/runs.js';

/** Timings of an in-process runtime under test: waits polled every 50 ms, 5 s locks and leases. */
export const TEST_TIMINGS = { pollMs: 50, leaseMs: 5_000, lockMs: 5_000, stalledMs: 5_000 } satisfies Partial<RuntimeOptions>;

export function secretFixture(id: string, over: Partial<ResolvedSecret> = {}): ResolvedSecret {
  return {
    id,
    owner: 'platform-team',
    className: undefined,
    description: undefined,
    tags: [],
    schedule: { kind: 'interval', ms: 86_400_000, text: '1d' },
    graceMs: 300,
    emergencyGraceMs: 0,
    jitterMs: 0,
    window: undefined,
    retry: { attempts: 3, backoffMs: 20, maxBackoffMs: 100 },
    drain: { mode: 'wait', timeoutMs: 2_000 },
    rotator: { name: 'memory', params: { users: ['app_a', 'app_b'] } },
    store: { backend: 'local', location: id, params: {} },
    consumers: [],
    source: { file: 'test.yaml', line: 1, col: 1 },
    hash: `hash-${id}-${JSON.stringify(over).length}`,
    ...over,
  };
}

const TERMINAL: RunState[] = ['done', 'needs-attention'];

export async function waitForRunEnd(pool: pg.Pool, runId: string, timeoutMs = 20_000): Promise<RunRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(pool, runId);
    if (run && TERMINAL.includes(run.state)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not end within ${timeoutMs} ms (state ${run?.state}, step ${run?.step})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
