// Which file a policy worker thread starts from. Compiled (dist/), it is worker.js, plain
// JavaScript that Node loads directly; run as TypeScript sources (vitest, tsx), it is
// worker-shim.mjs, which registers tsx in the thread first, since worker threads do not inherit
// the loader of the thread that starts them.

export interface PolicyWorker {
  url: URL;
  /** JavaScript without tsx: the worker registers tsx itself before a TypeScript plug-in. */
  compiled: boolean;
}

export function policyWorker(): PolicyWorker {
  const compiled = import.meta.url.endsWith('.js');
  return compiled
    ? { url: new URL('./worker.js', import.meta.url), compiled }
    : { url: new URL('./worker-shim.mjs', import.meta.url), compiled };
}
