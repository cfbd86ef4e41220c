// Runs `rotor validate` and `rotor plan` in-process on a generated policy tree, output to a null
// sink, and prints timings and the RSS high-water mark as JSON. bench/policy.ts starts it as a
// child process so that generating the tree does not count toward the memory figure.
import { Writable } from 'node:stream';
import type { runPlan as RunPlan } from '../src/cli/plan.js';
import type { runValidate as RunValidate } from '../src/cli/validate.js';

// rotor as the CLI runs it: the compiled modules in dist/ (bench/run.ts builds them when stale),
// whose policy worker thread starts from JavaScript, not through tsx.
const dist = (path: string) => import(new URL(`../dist/src/cli/${path}`, import.meta.url).href);
const { runPlan } = (await dist('plan.js')) as { runPlan: typeof RunPlan };
const { runValidate } = (await dist('validate.js')) as { runValidate: typeof RunValidate };

const dir = process.argv[2];
if (!dir) throw new Error('usage: policy-child.ts <policy dir>');

const devNull = new Writable({ write: (_chunk, _enc, done) => done() });
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const t0 = performance.now();
const c0 = cpu();
const validateCode = await runValidate({ dir, out: devNull });
const t1 = performance.now();
const c1 = cpu();
const planCode = await runPlan({ dir, out: devNull, at: new Date('2025-06-02T10:00:00Z') });
const t2 = performance.now();
const c2 = cpu();
process.stdout.write(
  JSON.stringify({
    validateCode,
    planCode,
    validateMs: t1 - t0,
    planMs: t2 - t1,
    validateCpuMs: c1 - c0,
    planCpuMs: c2 - c1,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  }) + '\n',
);
