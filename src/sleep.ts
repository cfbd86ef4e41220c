// One abortable sleep for every wait inside a step. Unlike node:timers/promises, it rejects with the
// signal's own reason (a LeaseLostError, a shutdown), so callers and the engine see why it stopped.

/** Resolves after `ms`; rejects with `signal.reason` as soon as `signal` aborts (at once if it has). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const reason = () => (signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return reject(reason());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(reason());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
