// The rotor command line: registers the command it runs (commands.ts) and maps failures to
// documented exit codes.
import { Command, CommanderError } from 'commander';
import { takeOverSdkNodeWarning } from '../aws/node-version-warning.js';
import { EXIT, exitCodeOf, formatCliError } from './exit-codes.js';
import { registerCommands } from './commands.js';

// Before any command makes an AWS client: `rotor start` says it once, as rotor (serve.ts).
takeOverSdkNodeWarning();

const program = new Command()
  .name('rotor')
  .description('Secret rotation orchestrator: rotates every secret in your YAML policies without an outage.')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError('(run rotor --help for usage)');

await registerCommands(program, process.argv.slice(2));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version print and exit 0; usage errors were already printed by commander.
    process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  } else {
    process.stderr.write(formatCliError(err) + '\n');
    process.exitCode = exitCodeOf(err);
  }
}
