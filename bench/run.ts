// `npm run bench [-- name[:part,part] ...]`: runs the named benchmarks (all when none is named)
// and prints each one's tables. A benchmark is a module with a function that returns its report.
import { build } from '../scripts/build.mjs';

const BENCHES: Record<string, { about: string; run: (parts: string[]) => Promise<string> }> = {
  policy: {
    about: 'validate + plan of 100,000 secrets in 1,000 files (wall time, peak memory)',
    run: async (parts) => (await import('./policy.js')).runPolicyBench(parts),
  },
  engine: {
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
    about: 'a flood of 5,000 half-open connections and 1,000 /events streams while rotations run; 50,000-key and 10,000-deep policy files',
    run: async (parts) => (await import('./hostile.js')).runHostileBench(parts),
  },
  consumers: {
    about:
      'zero downtime: 20 reconnecting clients through 100 rotations (failed logins, staleness); consumers:mariadb for the MariaDB dual-password variant',
    run: async (parts) => {
      const { report, ok } = await (await import('./consumers.js')).runConsumersBench(parts.includes('mariadb') ? 'mariadb' : 'postgres');
      if (ok) return report;
      console.log(report);
      throw new Error('a client failed to log in, or a rotation did not complete (see the table above)');
    },
  },
};

const requested = process.argv.slice(2).filter((a) => a !== '--');
const selected = requested.length ? requested : Object.keys(BENCHES);
const unknown = selected.map((s) => s.split(':')[0] ?? '').filter((name) => !(name in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark: ${unknown.join(', ')}`);
  for (const [name, b] of Object.entries(BENCHES)) console.error(`  ${name.padEnd(8)} ${b.about}`);
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
