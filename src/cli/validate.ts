// rotor validate [dir] [--resolve] [--json]: checks every policy file and reports all problems at
// once with file:line:col. Exits 2 on any problem; never changes anything.
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { formatProblem, summarizeProblems } from '../policy/format.js';
import { policyPass } from '../policy/parallel/pass.js';
import { quietOnClosedStdout } from './stdout.js';
import { EXIT } from './exit-codes.js';

export interface ValidateOptions {
  dir: string;
  /** Also resolve env: and file: references (needs the production environment). */
  resolve?: boolean;
  json?: boolean;
  out: Writable;
  env?: Readonly<Record<string, string | undefined>>;
  /** Passed to policyPass: how much YAML it takes to use a second thread. */
  parallelAbove?: number;
}

export function register(program: Command): void {
  program
    .command('validate [dir]')
    .description('check every policy file (*.yaml, *.yml) under dir; all problems at once, with file:line:col')
    .option('--resolve', 'also resolve env: and file: references and report the ones that fail')
    .option('--json', 'print the problems as a JSON array')
    .action(async (dir: string | undefined, opts: { resolve?: boolean; json?: boolean }) => {
      quietOnClosedStdout();
      process.exitCode = await runValidate({
        dir: dir ?? defaultPolicyDir(),
        resolve: opts.resolve,
        json: opts.json,
        out: process.stdout,
      });
    });
}

export function defaultPolicyDir(): string {
  return process.env.ROTOR_POLICIES || 'policies';
}

/** What `rotor validate` does; returns the exit code. The benchmark calls it in-process. */
export async function runValidate(opts: ValidateOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const result = await policyPass(opts.dir, {
    mode: 'validate',
    now: new Date(),
    ...(opts.resolve ? { resolveRefs: { env } } : {}),
    ...(opts.parallelAbove === undefined ? {} : { parallelAbove: opts.parallelAbove }),
  });
  const { problems } = result;
  if (opts.json) {
    opts.out.write(JSON.stringify(problems, null, 2) + '\n');
  } else if (problems.length) {
    opts.out.write(problems.map(formatProblem).join('\n') + '\n' + summarizeProblems(problems) + '\n');
  } else {
    const classes = result.classCount;
    opts.out.write(
      `ok: ${result.secretCount} ${result.secretCount === 1 ? 'secret' : 'secrets'}, ${classes} ${classes === 1 ? 'class' : 'classes'} in ${result.files.length} ${result.files.length === 1 ? 'file' : 'files'}` +
        (opts.resolve ? '; every env: and file: reference resolves' : '') +
        '\n',
    );
  }
  return problems.length ? EXIT.USAGE : EXIT.OK;
}
