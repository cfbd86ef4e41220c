// Policy benchmark: generates 100,000 secrets across 1,000 files, then measures `rotor validate`
// and `rotor plan` on them (in-process, the code the CLI runs, output to a null sink) in a child
// process, against the targets: each ≤ 3 s wall time, peak RSS ≤ 500 MB.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generatePolicyTree } from './policy-gen.js';

const FILES = 1_000;
const PER_FILE = 100;
const TARGET_MS = 3_000;
const TARGET_MB = 500;

interface ChildResult {
  validateCode: number;
  planCode: number;
  validateMs: number;
  planMs: number;
  validateCpuMs: number;
  planCpuMs: number;
  maxRssMb: number;
}

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./policy-child.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/rotor.js', import.meta.url));

async function measure(dir: string): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, dir], { maxBuffer: 1 << 20 });
  const result = JSON.parse(stdout) as ChildResult;
  if (result.validateCode !== 0 || result.planCode !== 0) throw new Error(`the generated policies did not validate: ${stdout}`);
  return result;
}

/** The user's view: `rotor plan` as a process, start to exit, output discarded. */
async function wholeCommand(dir: string): Promise<number> {
  const t = performance.now();
  await run(process.execPath, [BIN, 'plan', dir, '--at', '2025-06-02T10:00Z'], { maxBuffer: 1 << 30 });
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  return [line(rows[0] ?? []), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

export async function runPolicyBench(parts: string[] = []): Promise<string> {
  const runs = Number(parts.find((p) => /^\d+$/.test(p)) ?? 3);
  const dir = await mkdtemp(join(tmpdir(), 'rotor-bench-policy-'));
  try {
    const tree = await generatePolicyTree(dir, FILES, PER_FILE);
    const results: ChildResult[] = [];
    for (let i = 0; i < runs; i++) results.push(await measure(dir));
    const command = await wholeCommand(dir);
    const v = median(results.map((r) => r.validateMs));
    const p = median(results.map((r) => r.planMs));
    const mem = Math.max(...results.map((r) => r.maxRssMb));
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const spread = (pick: (r: ChildResult) => number) => `${s(Math.min(...results.map(pick)))} – ${s(Math.max(...results.map(pick)))}`;
    return [
      `${tree.secrets.toLocaleString('en')} secrets in ${tree.files.toLocaleString('en')} files, ${(tree.bytes / 1e6).toFixed(1)} MB of YAML; median of ${runs} runs`,
      '',
      table([
        ['measure', 'result', 'range', 'CPU time', 'target', 'result ÷ target'],
        [
          'rotor validate, wall time',
          s(v),
          spread((r) => r.validateMs),
          s(median(results.map((r) => r.validateCpuMs))),
          '≤ 3 s',
          (v / TARGET_MS).toFixed(2),
        ],
        [
          'rotor plan, wall time',
          s(p),
          spread((r) => r.planMs),
          s(median(results.map((r) => r.planCpuMs))),
          '≤ 3 s',
          (p / TARGET_MS).toFixed(2),
        ],
        ['peak RSS (validate + plan, one process)', `${mem.toFixed(0)} MB`, '', '', `≤ ${TARGET_MB} MB`, (mem / TARGET_MB).toFixed(2)],
        ['rotor plan as a command (process start to exit)', s(command), '', '', '', ''],
      ]),
    ].join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
