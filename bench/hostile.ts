// `npm run bench -- hostile`: issue 14's hostile client and hostile files. A rotor process (workers
// and dashboard together) is flooded by another process with 5,000 half-open connections and
// 1,000 /events streams while it runs rotations; then the parser cases: 50,000 keys in one map
// and 10,000-deep nesting, through `rotor validate` as users run it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startPrivatePostgres } from '../test/helpers/postgres-server.js';
import { spawnRedisServer } from '../test/helpers/redis-server.js';
import { percentile, table } from './engine-setup.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const HALF_OPEN = 5_000;
const STREAMS = 1_000;
const ROTATIONS = 50;
/** The attacker's sockets plus headroom: what its process needs. */
const NEED_FDS = HALF_OPEN + STREAMS + 1_000;

function fdLimits(): { soft: number; hard: number } {
  const line =
    readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files')) ?? '';
  const [soft, hard] = line
    .replace('Max open files', '')
    .trim()
    .split(/\s+/)
    .map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return { soft: soft ?? 0, hard: hard ?? 0 };
}

/** A TypeScript child under `ulimit -n fds`; lines of JSON on its stdout. */
function child(script: string, args: string[], fds: number): { proc: ChildProcess; next(): Promise<Record<string, unknown>> } {
  const quoted = [process.execPath, '--import', 'tsx', join(ROOT, 'bench', script), ...args].map((a) => `'${a}'`).join(' ');
  const proc = spawn('sh', ['-c', `ulimit -n ${fds} && exec ${quoted}`], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return {
    proc,
    async next() {
      const r = await lines.next();
      if (r.done) throw new Error(`${script} ended (exit ${proc.exitCode ?? proc.signalCode})`);
      return JSON.parse(r.value) as Record<string, unknown>;
    },
  };
}

function openFilesOf(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

async function flood(): Promise<Array<Record<string, string | number>>> {
  const { soft, hard } = fdLimits();
  if (hard < NEED_FDS) {
    return [
      {
        measure: 'flood',
        result: `not run: the attacker needs ${NEED_FDS} open files, the hard limit (ulimit -Hn) is ${hard}`,
        target: '',
      },
    ];
  }
  const fds = Math.min(hard, Math.max(soft, NEED_FDS));
  const [pgServer, redis] = await Promise.all([startPrivatePostgres(), spawnRedisServer()]);
  const f = pgServer.facts;
  const dbUrl = `postgres://${encodeURIComponent(f.user)}:${encodeURIComponent(f.password)}@${f.host}:${f.port}/postgres`;
  let rotor: ReturnType<typeof child> | undefined;
  let attacker: ReturnType<typeof child> | undefined;
  try {
    // rotor keeps the machine's own limit (soft): the flood must not need more than it has.
    rotor = child('hostile-rotor.ts', [dbUrl, redis.url], soft);
    let restarts = 0;
    rotor.proc.once('exit', () => restarts++);
    const { url } = (await rotor.next()) as { url: string };
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, openFilesOf(rotor!.proc.pid!))), 100);
    attacker = child('hostile-flood.ts', [url, String(HALF_OPEN), String(STREAMS)], fds);
    const held = (await attacker.next()) as { held: number };
    rotor.proc.stdin!.write(`rotate ${ROTATIONS}\n`);
    const rotated = (await rotor.next()) as { done: number; failed: number; ms: number; why: string[] };
    for (const w of rotated.why) console.log(`  a rotation failed: ${w}`);
    attacker.proc.stdin!.write('stop\n');
    const probe = (await attacker.next()) as { healthz: number[]; failures: number; opened: number; refused503: number };
    clearInterval(sampler);
    const sorted = probe.healthz.sort((a, b) => a - b);
    return [
      { measure: 'attacker sockets open, client side (incl. those waiting in the listen backlog)', result: held.held, target: '' },
      { measure: 'connections answered 503 / opened', result: `${probe.refused503} / ${probe.opened}`, target: '' },
      {
        measure: 'rotations completed during the flood',
        result: `${rotated.done} of ${ROTATIONS} (${rotated.failed} failed, ${rotated.ms} ms)`,
        target: 'all',
      },
      { measure: 'process restarts', result: restarts, target: '0' },
      {
        measure: '/healthz p50 / p95 during the flood',
        result: `${percentile(sorted, 50).toFixed(1)} / ${percentile(sorted, 95).toFixed(1)} ms (${sorted.length} ok, ${probe.failures} failed)`,
        target: 'answers',
      },
      { measure: 'peak open files of the rotor process', result: `${peak} (its limit ${soft})`, target: `< ${soft}` },
    ];
  } finally {
    attacker?.proc.kill('SIGKILL');
    rotor?.proc.kill('SIGKILL');
    await Promise.allSettled([pgServer.stop(), redis.stop()]);
  }
}

function validateCase(name: string, text: string): { code: number | null; ms: number; said: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-hostile-bench-'));
  try {
    writeFileSync(join(dir, name), text);
    const t = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'rotor.js'), 'validate', dir], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    return { code: r.status, ms: performance.now() - t, said: (r.stdout + r.stderr).split('\n').find((l) => l.includes(name)) ?? '' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parserCases(): Array<Record<string, string | number>> {
  const SECRET = '  - id: team/api-key\n    owner: team\n    rotator: random-secret\n';
  const bigMap = `secrets:\n${SECRET}    target:\n${Array.from({ length: 50_000 }, (_, i) => `      k${i}: v`).join('\n')}\n`;
  const deep = `secrets:\n${SECRET}    description: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`;
  const node = validateCase('node.yaml', '');
  const big = validateCase('big.yaml', bigMap);
  const nested = validateCase('deep.yaml', deep);
  return [
    {
      measure: 'rotor validate of an empty directory (start-up, for scale)',
      result: `${node.ms.toFixed(0)} ms, exit ${node.code}`,
      target: '',
    },
    { measure: 'validate: 50,000 keys in one map', result: `${big.ms.toFixed(0)} ms, exit ${big.code}`, target: '≤ 2000 ms, exit 0 or 2' },
    { measure: 'validate: 10,000-deep nesting', result: `${nested.ms.toFixed(0)} ms, exit ${nested.code}`, target: '≤ 1000 ms, exit 2' },
  ];
}

export async function runHostileBench(parts: string[]): Promise<string> {
  const all = !parts.length;
  const rows = [...(all || parts.includes('flood') ? await flood() : []), ...(all || parts.includes('parser') ? parserCases() : [])];
  return table(rows);
}
