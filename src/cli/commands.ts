// Every rotor command, one module each (each exports register(program)), and the list that lets
// the CLI load only the module of the command it runs: `rotor --version`, `--help` and a mistyped
// command load none, and list every command from the terms and summaries below.
import { Command, Help } from 'commander';

type Registrar = { register(program: Command): void };

export interface CommandEntry {
  /** The command as `rotor --help` lists it: its name, `[options]` when it has any, its arguments. */
  term: string;
  /** Its description, as its module gives it (test/unit/cli/commands.test.ts holds them equal). */
  summary: string;
  load(): Promise<Registrar>;
}

const serve = () => import('./serve.js');
const history = () => import('./history.js');

/** In the order `rotor --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    term: 'validate [options] [dir]',
    summary: 'check every policy file (*.yaml, *.yml) under dir; all problems at once, with file:line:col',
    load: () => import('./validate.js'),
  },
  { term: 'plan [options] [dir]', summary: 'every secret, its next due time and its risk flags', load: () => import('./plan.js') },
  {
    term: 'start [options]',
    summary: 'migrate, sync the policies, and run the scheduler and workers (embedded PostgreSQL when ROTOR_DATABASE_URL is unset)',
    load: serve,
  },
  { term: 'worker', summary: 'run workers only (no scheduler, no sync), to scale out on more machines', load: serve },
  {
    term: 'dashboard [options]',
    summary: 'serve the dashboard, JSON API and /metrics for a running rotor (127.0.0.1:8080 by default)',
    load: () => import('./dashboard.js'),
  },
  { term: 'migrate', summary: 'apply the state database migrations (rotor start does this too)', load: () => import('./migrate.js') },
  { term: 'rotate [options] <secretId>', summary: 'rotate one secret now', load: () => import('./rotate.js') },
  {
    term: 'incident',
    summary: 'rotate a whole blast radius now, in dependency order; follow or abort it',
    load: () => import('./incident.js'),
  },
  {
    term: 'attest [options] <secretId>',
    summary: 'record that a person rotated a manual secret (rotator: manual); resets its cadence, audited',
    load: () => import('./attest.js'),
  },
  {
    term: 'report [options]',
    summary: 'compliance report: per secret its cadence, credential age, last rotation, overdue days, failures and consumers',
    load: () => import('./report.js'),
  },
  { term: 'status [options] [secretId]', summary: 'where every secret stands (or one, in detail)', load: () => import('./status.js') },
  { term: 'history [options] <secretId>', summary: 'runs of one secret, newest first, with their steps', load: history },
  { term: 'audit [options]', summary: 'the append-only audit trail, newest first', load: history },
  { term: 'secret', summary: 'read a secret value (local store)', load: () => import('./secret.js') },
  {
    term: 'repair [options] <secretId>',
    summary:
      'clear a PENDING version left by an unfinished rotation, or the new credential a rollback kept working (it stops working; CURRENT is untouched)',
    load: () => import('./repair.js'),
  },
  {
    term: 'rekey',
    summary: 'seal every version of the local store with ROTOR_MASTER_KEY again, opening old ones with ROTOR_MASTER_KEY_PREVIOUS',
    load: () => import('./rekey.js'),
  },
  {
    term: 'prune [options]',
    summary: "delete runs (with their steps) that ended longer ago than --older-than; each secret's newest run and the audit trail stay",
    load: () => import('./prune.js'),
  },
  {
    term: 'conformance [options] <rotator>',
    summary: 'run the rotator conformance suite against a live target (a built-in name, ./path/to/plugin.ts or npm:package)',
    load: () => import('./conformance.js'),
  },
];

export const nameOf = (entry: CommandEntry): string => entry.term.split(' ')[0] as string;

/**
 * The command `argv` (without node and the script) runs: its first word, or the one after `help`.
 * rotor's only options before a command are --help and --version, which need no command module.
 */
export function commandFor(argv: readonly string[]): CommandEntry | undefined {
  const name = argv[0] === 'help' ? argv[1] : argv[0];
  return COMMANDS.find((c) => nameOf(c) === name);
}

/**
 * Registers what `argv` needs: the module of the command it names (with its sibling commands), or,
 * for --version, --help, no command or an unknown one, every command as a name and a summary
 * only. Commander then prints the same help, and the same "did you mean", as with every module.
 */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const entry = commandFor(argv);
  if (entry) {
    (await entry.load()).register(program);
    return;
  }
  const terms = new Map<Command, string>();
  for (const c of COMMANDS) {
    const listed = new Command(nameOf(c)).description(c.summary);
    terms.set(listed, c.term);
    program.addCommand(listed);
  }
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd) ?? Help.prototype.subcommandTerm.call(new Help(), cmd) });
}

/** Every module registered, as before lazy loading: for the test that holds COMMANDS to them. */
export async function registerEveryCommand(program: Command): Promise<void> {
  for (const load of new Set(COMMANDS.map((c) => c.load))) (await load()).register(program);
}
