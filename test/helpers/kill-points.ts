// Deterministic kill points for worker processes that tests SIGKILL: at the point named by KILL_AT,
// the worker prints `at <point>` and hangs until it is killed.
import type { Consumer } from '../../src/consumers/contract.js';
import { envFileConsumer } from '../../src/consumers/env-file/index.js';
import { STEPS } from '../../src/engine/steps.js';
import type { RuntimeOptions } from '../../src/runtime.js';
import type { SecretStore } from '../../src/store/contract.js';

/** A step of a run that has kill points: every one of src/engine/steps.ts but `finish`. */
export type KillStep = Exclude<(typeof STEPS)[number], 'finish'>;

export const KILL_STEPS: readonly KillStep[] = STEPS.filter((s): s is KillStep => s !== 'finish');

export interface KillPointsOptions {
  /** The steps with the point `inside:<step>` (a rotator, store or consumer call wrapped by inside()). @defaultValue none */
  inside?: readonly KillStep[];
  /** Points of a step's own (`applied:revoke`, a worker's checkpoint()), after `inside:<step>`, before `after:<step>`. */
  within?: Partial<Record<KillStep, readonly string[]>>;
}

/**
 * The kill points of a run in the order it meets them, derived from the steps (src/engine/steps.ts):
 * for each step, `inside:<step>` when asked for, the step's own points, then `after:<step>` (each
 * step boundary, KILLABLE_RUNTIME's onStepDone).
 */
export function killPoints(opts: KillPointsOptions = {}): string[] {
  return KILL_STEPS.flatMap((step) => [
    ...(opts.inside?.includes(step) ? [`inside:${step}`] : []),
    ...(opts.within?.[step] ?? []),
    `after:${step}`,
  ]);
}

export async function checkpoint(point: string): Promise<void> {
  if (process.env.KILL_AT !== point) return;
  process.stdout.write(`at ${point}\n`);
  await new Promise(() => undefined);
}

/** Wraps a rotator, store or consumer call so that it is the kill point `inside:<step>`. */
export function inside<A extends unknown[], R>(step: string, fn: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
  return async (...a: A) => {
    await checkpoint(`inside:${step}`);
    return fn(...a);
  };
}

/** A store whose promote is the kill point `inside:promote`. */
export function killableStore(store: SecretStore): SecretStore {
  return { ...store, backend: store.backend, promote: inside('promote', store.promote.bind(store)) };
}

/** The env-file consumer, its notify the kill point `inside:distribute`. */
export const killableEnvFile: Consumer<unknown> = {
  ...(envFileConsumer as Consumer<unknown>),
  notify: inside('distribute', (envFileConsumer as Consumer<unknown>).notify),
};

/**
 * What the SIGKILL workers' runtimes share: each step boundary is the kill point `after:<step>`, and
 * locks and leases are short, so a replacement worker takes a killed one's run over within seconds.
 */
export const KILLABLE_RUNTIME = {
  nextDue: (_s: unknown, last: Date) => new Date(last.getTime() + 86_400_000),
  onStepDone: (_runId: string, step: string) => checkpoint(`after:${step}`),
  lockMs: 1_500,
  stalledMs: 500,
  leaseMs: 1_500,
  pollMs: 100,
} satisfies Partial<RuntimeOptions>;

/**
 * A spare worker (GATED=1, test/helpers/worker-child.ts spareWorker) loads everything, prints
 * "loaded" and waits here for a line on stdin before it takes jobs.
 */
export async function gate(): Promise<void> {
  if (process.env.GATED !== '1') return;
  process.stdout.write('loaded\n');
  await new Promise((r) => process.stdin.once('data', r));
}
