// `npm run bench -- name[:part,part] ... | all | --help`: runs the named benchmarks and prints each
// one's tables. A benchmark is a module with a function that returns its report; `parts` names what
// of it may be asked for alone, so a typo is an error rather than a run that measures nothing.
import { build } from '../scripts/build.mjs';

interface Bench {
  about: string;
  /** What may be asked for alone (`engine:emergency`); a part of the policy bench is its number of runs. */
  parts?: readonly string[];
  run: (parts: string[]) => Promise<string>;
}

const RUNS = /^[1-9]\d?$/;

const BENCHES: Record<string, Bench> = {
  policy: {
    parts: ['<runs>'],
    about: 'validate + plan of 100,000 secrets in 1,000 files (wall time, peak memory)',
    run: async (parts) => (await import('./policy.js')).runPolicyBench(parts),
  },
  engine: {
    parts: ['throughput', 'emergency', 'scale'],
    about: 'rotation throughput, emergency latency, sync and tick at 100,000 secrets (needs redis-server)',
    run: async (parts) => (await import('./engine.js')).runEngineBench(parts.length ? parts : undefined),
  },
  dashboard: {
    about: 'server-side render time of the inventory page with 10,000 secrets (p50/p95, target ≤ 150 ms)',
    run: async () => (await import('./dashboard.js')).runDashboardBench(),
  },
  cli: {
    about: 'cold start of rotor --version and rotor status (embedded rotor running), median of 10, ÷ node -e 0 (target ≤ 4× for --version)',
    run: async () => (await import('./cli.js')).runCliBench(),
  },
  hostile: {
    parts: ['flood', 'parser'],
    about: 'a flood of 5,000 half-open connections and 1,000 /events streams while rotations run; 50,000-key and 10,000-deep policy files',
    run: async (parts) => (await import('./hostile.js')).runHostileBench(parts),
  },
  incident: {
    about:
      'an incident over 300 secrets on 10 target databases ÷ a raw rotator script at the same per-target concurrency, median of interleaved rounds (BENCH_INCIDENT_ROUNDS, default 3) (target ≤ 1.3), start → first revoke (target ≤ 1 s)',
    run: async () => (await import('./incident.js')).runIncidentBench(),
  },
  consumers: {
    parts: ['mariadb', 'kubernetes'],
    about:
      'zero downtime: 20 reconnecting clients through 100 rotations (failed logins, staleness); consumers:mariadb for the MariaDB dual-password variant, consumers:kubernetes for pods of fake Deployments restarted by the kubernetes consumer',
    run: async (parts) => {
      const { report, ok } = parts.includes('kubernetes')
        ? await (await import('./consumers-kubernetes.js')).runKubernetesConsumersBench()
        : await (await import('./consumers.js')).runConsumersBench(parts.includes('mariadb') ? 'mariadb' : 'postgres');
      if (ok) return report;
      console.log(report);
      throw new Error('a client failed to log in, or a rotation did not complete (see the table above)');
    },
  },
};

const USAGE = [
  'usage: npm run bench -- <name>[:part,part] ... | all',
  '',
  ...Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(10)} ${b.about}${b.parts ? ` (parts: ${b.parts.join(', ')})` : ''}`),
  '',
  'Each one starts its own PostgreSQL (and redis-server or MariaDB where it needs them) and takes',
  'from seconds (cli, dashboard) to several minutes (engine, consumers): name the ones you want.',
].join('\n');

const requested = process.argv.slice(2).filter((a) => a !== '--');
if (requested.includes('--help') || requested.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (!requested.length) {
  console.error(`name a benchmark, or all (they take minutes each)\n\n${USAGE}`);
  process.exit(2);
}
const selected = requested.includes('all') ? Object.keys(BENCHES) : requested;
const wrong = selected.flatMap((spec) => {
  const [name = '', partList = ''] = spec.split(':');
  const bench = BENCHES[name];
  if (!bench) return [`unknown benchmark: ${name}`];
  const parts = partList ? partList.split(',') : [];
  if (parts.length && !bench.parts) return [`${name} has no parts to choose (asked for ${parts.join(', ')})`];
  return parts
    .filter((p) => !bench.parts?.includes(p) && !(bench.parts?.includes('<runs>') && RUNS.test(p)))
    .map((p) => `unknown part of ${name}: ${p} (parts: ${bench.parts?.join(', ')})`);
});
if (wrong.length) {
  console.error(`${wrong.join('\n')}\n\n${USAGE}`);
  process.exit(2);
}

// Every benchmark measures rotor as users run it, from dist/: built first when a source is newer.
if (build({ onlyIfStale: true }) !== 0) process.exit(1);

let failed = false;
for (const spec of selected) {
  const [name = '', partList = ''] = spec.split(':');
  const bench = BENCHES[name];
  if (!bench) continue;
  console.log(`## ${name}: ${bench.about}\n`);
  try {
    console.log(await bench.run(partList ? partList.split(',') : []));
  } catch (err) {
    failed = true;
    console.error(`benchmark ${name} failed:`, err);
  }
  console.log('');
}
// Benchmarks may leave pools or workers behind; the report is printed, so stop here.
process.exit(failed ? 1 : 0);
