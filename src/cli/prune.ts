// rotor prune: retention of run history (see state/prune.ts for what goes and what stays).
import type { Command } from 'commander';
import { InvalidInputError } from '../errors.js';
import { DURATION_EXAMPLES, parseDuration } from '../policy/duration.js';
import { pruneRuns } from '../state/prune.js';
import { cliActor } from './confirm.js';
import { openState, out } from './context.js';

/** Shorter than this is refused: a typo (`--older-than 1m`) must not erase the history. */
const MIN_AGE_MS = 86_400_000;

export function register(program: Command): void {
  program
    .command('prune')
    .description(
      "delete runs (with their steps) that ended longer ago than --older-than; each secret's newest run and the audit trail stay",
    )
    .requiredOption('--older-than <duration>', `age of the runs to delete, at least 1d (${DURATION_EXAMPLES})`)
    .option('--yes', 'delete; without it, only count what would go')
    .option('--actor <name>', 'who prunes, for the audit trail (default: $USER)')
    .action(async (opts: { olderThan: string; yes?: boolean; actor?: string }) => {
      const ms = parseDuration(opts.olderThan);
      if (ms === undefined)
        throw new InvalidInputError(`--older-than ${opts.olderThan} is not a duration`, { hint: `write it as ${DURATION_EXAMPLES}` });
      if (ms < MIN_AGE_MS)
        throw new InvalidInputError(`--older-than ${opts.olderThan} is less than a day; rotor keeps at least a day of history`, {
          hint: 'e.g. --older-than 180d',
        });
      const state = await openState();
      try {
        const cutoff = new Date(Date.now() - ms);
        const r = await pruneRuns(state.pool, { cutoff, actor: cliActor(opts.actor), dryRun: !opts.yes });
        const what = `${r.runs} run(s) that ended before ${cutoff.toISOString()}, with ${r.steps} step record(s) and ${r.consumers} consumer record(s)`;
        out(opts.yes ? `deleted ${what}; the audit trail is untouched` : `would delete ${what}; run again with --yes to delete them`);
      } finally {
        await state.close();
      }
    });
}
