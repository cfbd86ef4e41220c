// rotor secret get <id>: the only command that ever prints a secret value, for scripts that need it.
import type { Command } from 'commander';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { getSecret } from '../state/secrets.js';
import type { Stage } from '../store/contract.js';
import { openLocalStore, openState, out } from './context.js';
import { unknownSecret } from './unknown-secret.js';

const STAGES: Stage[] = ['CURRENT', 'PENDING', 'PREVIOUS'];

/**
 * A field as `--field` prints it: exact bytes when piped, for `$(rotor secret get ... --field
 * password)`; with a newline on a terminal, so the prompt does not run into the value.
 */
export function fieldText(value: unknown, terminal: boolean): string {
  return terminal ? `${String(value)}\n` : String(value);
}

export function register(program: Command): void {
  const secret = program.command('secret').description('read a secret value (local store)');
  secret
    .command('get <secretId>')
    .description('print a version of a secret as JSON (the only command that prints a value)')
    .option('--stage <stage>', 'CURRENT, PENDING or PREVIOUS', 'CURRENT')
    .option('--field <name>', 'print only this field (e.g. password); exact bytes when piped, a newline on a terminal')
    .action(async (secretId: string, opts: { stage: string; field?: string }) => {
      const stage = opts.stage.toUpperCase() as Stage;
      if (!STAGES.includes(stage)) throw new InvalidInputError(`--stage ${opts.stage} is not one of ${STAGES.join(', ')}`);
      const state = await openState();
      try {
        const row = await getSecret(state.pool, secretId);
        if (!row) throw await unknownSecret(state.pool, secretId);
        if (row.policy.store.backend !== 'local') {
          throw new InvalidInputError(`${secretId} is kept in ${row.policy.store.backend}, not the local store`, {
            hint: `read it with that store's own tools (location ${row.policy.store.location})`,
          });
        }
        const { store } = await openLocalStore(state);
        const version = await store.get(row.policy.store.location, stage);
        if (!version) throw new NotFoundError(`${secretId} has no ${stage} version`, { hint: `see: rotor status ${secretId}` });
        if (opts.field) {
          const v = version.value[opts.field];
          if (v === undefined)
            throw new InvalidInputError(`${secretId} has no field ${opts.field}`, {
              hint: `fields: ${Object.keys(version.value).join(', ')}`,
            });
          process.stdout.write(fieldText(v, process.stdout.isTTY === true));
          return;
        }
        out(JSON.stringify({ secretId, stage, versionId: version.versionId, value: version.value }, null, 2));
      } finally {
        await state.close();
      }
    });
}
