// How long-running commands (start, worker, dashboard) wait to be stopped: the first SIGINT,
// SIGTERM or SIGHUP starts a graceful stop; a second SIGINT or SIGTERM exits at once.

/** Resolves on the first stop signal; rotor owns the shutdown that follows (workers first, the embedded database last). */
export function untilSignal(): Promise<void> {
  return new Promise((done) => {
    const onSignal = () => {
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      done();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('SIGHUP', onSignal);
  });
}
