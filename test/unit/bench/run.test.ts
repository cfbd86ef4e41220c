// `npm run bench`'s front door: help, a missing name and typos answer at once, and measure nothing.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const RUN = fileURLToPath(new URL('../../../bench/run.ts', import.meta.url));

async function bench(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', RUN, ...args], { timeout: 30_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('npm run bench', () => {
  it('--help lists every benchmark with its parts and exits 0', async () => {
    const r = await bench('--help');
    expect(r.code).toBe(0);
    for (const name of ['policy', 'engine', 'dashboard', 'cli', 'hostile', 'consumers']) expect(r.out).toContain(`  ${name}`);
    expect(r.out).toContain('parts: throughput, emergency, scale');
  });

  it('asks for a name instead of starting every long benchmark', async () => {
    const r = await bench();
    expect(r.code).toBe(2);
    expect(r.out).toContain('name a benchmark, or all');
  });

  it('refuses an unknown benchmark and an unknown part, exit 2', async () => {
    const [name, part, none] = await Promise.all([bench('--', 'nope'), bench('engine:nope'), bench('dashboard:x')]);
    expect(name).toMatchObject({ code: 2 });
    expect(name.out).toContain('unknown benchmark: nope');
    expect(part).toMatchObject({ code: 2 });
    expect(part.out).toContain('unknown part of engine: nope');
    expect(none).toMatchObject({ code: 2 });
    expect(none.out).toContain('dashboard has no parts to choose');
  });
}, 60_000);
