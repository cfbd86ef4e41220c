// Polling for conditions that become true asynchronously (a run ends, a server comes back).

export interface WaitOptions {
  /** How long to keep trying. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Pause between attempts. @defaultValue 25 */
  intervalMs?: number;
  /** What was awaited, for the timeout error. @defaultValue 'condition' */
  message?: string;
}

/**
 * Calls `fn` until it returns a truthy value and resolves with that value. A throw counts as "not
 * yet"; on timeout the last throw becomes the error's cause, so a failing test shows why.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 25, message = 'condition' } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
