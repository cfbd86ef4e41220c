// CLI cold start: `rotor --version`, and `rotor status` against a running embedded rotor (its own
// ROTOR_HOME in a temp directory, PostgreSQL on a free port, no dashboard), each as a new process
// from start to exit, median of 10, as a ratio to `node -e 0` measured in the same run. Target:
// `--version` within 4× of `node -e 0`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const RUNS = 10;
const TARGET_RATIO = 4;
const BIN = fileURLToPath(new URL('../bin/rotor.js', import.meta.url));
const run = promisify(execFile);

/** Wall time of one process, start to exit. */
async function timeOnce(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t = performance.now();
  await run(process.execPath, args, { env, maxBuffer: 1 << 24 });
  return performance.now() - t;
}

/** Median of RUNS runs, after one unmeasured run (the file cache warm, as for a user's second command). */
async function medianOf(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  await timeOnce(args, env);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timeOnce(args, env));
  times.sort((a, b) => a - b);
  return ((times[RUNS / 2 - 1] as number) + (times[RUNS / 2] as number)) / 2;
}

/** `rotor start` in its own ROTOR_HOME, on one random-secret policy; resolves once it is running. */
async function startEmbedded(dir: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const policies = join(dir, 'policies');
  await mkdir(policies);
  await writeFile(
    join(policies, 'bench.yaml'),
    `secrets:
  - id: bench/session
    owner: bench
    cadence: 90d
    grace: 1h
    rotator: random-secret
    generate: { length: 48, alphabet: alnum }
    consumers:
      - { type: env-file, path: ${join(dir, 'session.env')}, key: SESSION }
`,
  );
  const child = spawn(process.execPath, [BIN, 'start', '--policies', policies, '--no-dashboard'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rotor start did not start within 120 s:\n${output}`)), 120_000);
    const seen = (d: Buffer) => {
      output += d.toString();
      if (output.includes('rotor is running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`rotor start exited ${code}:\n${output}`));
    });
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  return [line(rows[0] ?? []), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

export async function runCliBench(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rotor-bench-cli-'));
  const env: NodeJS.ProcessEnv = { ...process.env, ROTOR_HOME: join(dir, 'home'), ROTOR_LOG_LEVEL: 'warn', ROTOR_ENV_FILE_ROOT: dir };
  delete env.ROTOR_DATABASE_URL;
  delete env.ROTOR_REDIS_URL;
  delete env.ROTOR_MASTER_KEY;
  let server: ChildProcess | undefined;
  try {
    const node = await medianOf(['-e', '0'], env);
    const version = await medianOf([BIN, '--version'], env);
    server = await startEmbedded(dir, env);
    const status = await medianOf([BIN, 'status'], env);
    const row = (what: string, ms: number, target: string) => [what, `${ms.toFixed(0)} ms`, `${(ms / node).toFixed(2)}×`, target];
    const ok = version / node <= TARGET_RATIO;
    return [
      table([
        ['process, start to exit', `median of ${RUNS}`, '÷ node -e 0', 'target'],
        row('node -e 0', node, ''),
        row('rotor --version', version, `≤ ${TARGET_RATIO}× ${ok ? '(met)' : '(MISSED)'}`),
        row('rotor status (embedded rotor running)', status, ''),
      ]),
      '',
      `node ${process.version}; rotor from dist/ (bin/rotor.js)`,
    ].join('\n');
  } finally {
    if (server) await stop(server);
    await rm(dir, { recursive: true, force: true });
  }
}
