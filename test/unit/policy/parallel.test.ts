// A policy pass split over a worker thread gives what one thread gives: the same problems, in the
// same order, and the same plan entries.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicies } from '../../../src/policy/load.js';
import { policyPass } from '../../../src/policy/parallel/pass.js';
import { planEntry } from '../../../src/policy/plan.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const NOW = new Date('2025-06-02T10:00:00Z');
/** A worker thread for any input, however small; `mainClaims: false` gives it every file. */
const ALWAYS = { parallelAbove: 0, parallelFiles: 0 };
const WORKER_ONLY = { ...ALWAYS, mainClaims: false };

// Under vitest the worker runs the TypeScript sources through the tsx shim, and each of its starts
// takes a second or more (compiled, in dist/, it is a fraction of that: worker-url.test.ts).
describe('a policy pass on two threads', { timeout: 60_000 }, () => {
  it('reports the same problems as one thread, including duplicates across files', async () => {
    for (const name of ['many-problems', 'duplicate-id', 'duplicate-class', 'credential-literal']) {
      const dir = `${FIXTURES}policies/${name}`;
      const single = await loadPolicies(dir, { cwd: FIXTURES });
      for (const how of [ALWAYS, WORKER_ONLY]) {
        const split = await policyPass(dir, { mode: 'validate', now: NOW, cwd: FIXTURES, ...how });
        expect(split.problems, name).toEqual(single.problems);
      }
    }
  });

  it('plans the same entries as one thread, in file order', async () => {
    const dir = `${FIXTURES}../../policies`;
    const single = await loadPolicies(dir);
    const split = await policyPass(dir, { mode: 'plan', now: NOW, ...WORKER_ONLY });
    expect(split.problems).toEqual([]);
    expect(split.secretCount).toBe(single.secrets.length);
    expect(split.entries).toEqual(single.secrets.map((s) => planEntry(s, NOW, null)));
  });
});
