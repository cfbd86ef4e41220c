// Deterministic kill points for worker processes that tests SIGKILL: at the point named by KILL_AT,
// the worker prints `at <point>` and hangs until it is killed.

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
