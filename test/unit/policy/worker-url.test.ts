// The policy worker thread: from the TypeScript sources (vitest) it starts through the tsx shim;
// compiled (dist/, as bin/rotor.js runs it) it starts from plain JavaScript and still loads
// TypeScript rotator plug-ins, reporting what one thread reports.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadPolicies } from '../../../src/policy/load.js';
import type { policyPass as PolicyPass } from '../../../src/policy/parallel/pass.js';
import { policyWorker } from '../../../src/policy/parallel/worker-url.js';

const PLUGINS = fileURLToPath(new URL('../../fixtures/plugins/', import.meta.url));
const DIST_PASS = new URL('../../../dist/src/policy/parallel/pass.js', import.meta.url);
const NOW = new Date('2025-06-02T10:00:00Z');

// The fixtures' plug-ins are trusted explicitly, as an operator would (README: Security → Trust model).
vi.stubEnv('ROTOR_PLUGIN_DIRS', new URL('../../../', import.meta.url).pathname + 'test/fixtures/plugins:npm');
afterAll(() => vi.unstubAllEnvs());

describe('the policy worker', () => {
  it('starts through the tsx shim when rotor runs as TypeScript', () => {
    const w = policyWorker();
    expect(w.compiled).toBe(false);
    expect(w.url.pathname).toMatch(/\/src\/policy\/parallel\/worker-shim\.mjs$/);
  });

  it('starts from dist/ when compiled, and loads TypeScript plug-ins as one thread does', async () => {
    // npm test builds dist/ first (npm run build).
    if (!existsSync(DIST_PASS)) throw new Error('dist/ is not built: run npm run build');
    const { policyPass } = (await import(DIST_PASS.href)) as { policyPass: typeof PolicyPass };
    for (const name of ['valid', 'broken']) {
      const dir = `${PLUGINS}${name}`;
      const single = await loadPolicies(dir);
      // Every file claimed by the worker: the main thread claims none.
      const split = await policyPass(dir, { mode: 'plan', now: NOW, parallelAbove: 0, parallelFiles: 0, mainClaims: false });
      expect(split.problems, name).toEqual(single.problems);
      expect(
        split.entries.map((e) => e.id),
        name,
      ).toEqual(single.secrets.map((s) => s.id));
    }
    // The valid tree's plug-in secret was planned by the worker, not dropped.
    expect((await loadPolicies(`${PLUGINS}valid`)).secrets.length).toBeGreaterThan(1);
  }, 60_000);
});
