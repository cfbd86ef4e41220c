// The conformance suite as vitest tests: one `it` per check, in order, on a harness made in
// beforeAll. For rotor's own tests and for plug-in authors who test with vitest:
//   describeConformance('my-rotator', rotator, async () => ({ params, openSession }))
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Rotator } from './contract.js';
import { CheckNotRun, ConformanceRun, conformanceChecks, type ConformanceHarness } from './conformance.js';

export function describeConformance<P>(title: string, rotator: Rotator<P>, makeHarness: () => Promise<ConformanceHarness>): void {
  const r = rotator as Rotator<unknown>;
  describe(`${title} passes the rotator conformance suite`, () => {
    let run: ConformanceRun | undefined;
    beforeAll(async () => {
      run = new ConformanceRun(r, await makeHarness());
    });
    afterAll(async () => {
      await run?.close();
    });
    for (const check of conformanceChecks(r)) {
      it(check.name, async (ctx) => {
        if (!run) throw new Error('the harness could not be made (see beforeAll)');
        try {
          await run.run(check.id);
        } catch (err) {
          // Shown as skipped with its reason, as `rotor conformance` shows it as not run: never as passed.
          if (err instanceof CheckNotRun) ctx.skip(err.message);
          throw err;
        }
      });
    }
  });
}
