// The policy worker starts from a JavaScript bundle of its sources (no tsx), kept under
// node_modules/.cache/rotor/, and still loads TypeScript rotator plug-ins as the main thread does.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPolicies } from '../../../src/policy/load.js';
import { policyPass } from '../../../src/policy/parallel/pass.js';
import { TSX_WORKER, policyWorkerUrl } from '../../../src/policy/parallel/worker-bundle.js';

const PLUGINS = fileURLToPath(new URL('../../fixtures/plugins/', import.meta.url));
const NOW = new Date('2025-06-02T10:00:00Z');

describe('the bundled policy worker', () => {
  it('is built once into node_modules/.cache/rotor and reused', async () => {
    const url = await policyWorkerUrl();
    expect(url).not.toBe(TSX_WORKER);
    expect(url.pathname).toMatch(/\/node_modules\/\.cache\/rotor\/policy-worker-[0-9a-f]{8}-[0-9a-f]{16}\.mjs$/);
    expect(await policyWorkerUrl()).toBe(url);
  });

  it('holds descriptors and schemas only: no rotator, consumer or store implementation, no driver', async () => {
    const text = readFileSync(await policyWorkerUrl(), 'utf8');
    // esbuild marks each bundled module with a `// path` comment, relative to src/policy/parallel.
    expect(text).toMatch(/^\/\/ [./]*rotators\/postgres\/descriptor\.ts$/m);
    expect(text).not.toMatch(/^\/\/ [./]*(?:node_modules\/(?:pg|ioredis|@aws-sdk)\/|rotators\/[a-z-]+\/index\.ts|src\/(?:consumers\/[a-z-]+\/index|store\/[a-z-]+\/store)\.ts)/m);
  });

  it('loads TypeScript plug-ins as one thread does, reporting the same problems', async () => {
    for (const name of ['valid', 'broken']) {
      const dir = `${PLUGINS}${name}`;
      const single = await loadPolicies(dir);
      const split = await policyPass(dir, { mode: 'plan', now: NOW, parallelAbove: 0, parallelFiles: 0, mainClaims: false });
      expect(split.problems, name).toEqual(single.problems);
      expect(split.entries.map((e) => e.id), name).toEqual(single.secrets.map((s) => s.id));
    }
    // The valid tree's plug-in secret was planned by the worker, not dropped.
    expect((await loadPolicies(`${PLUGINS}valid`)).secrets.length).toBeGreaterThan(1);
  }, 30_000);
});
