// rotor repair <id>: clears what an unfinished rotation left behind (see engine/repair.ts).
import type { Command } from 'commander';
import { repairSecret } from '../engine/repair.js';
import { PermanentError } from '../errors.js';
import { getSecret } from '../state/secrets.js';
import { loadRotators, rotatorFor } from '../rotator/catalogue.js';
import { cliActor, confirmByTypingId } from './confirm.js';
import { openState, openStores, out, secretRefResolver } from './context.js';
import { unknownSecret } from './unknown-secret.js';

export function register(program: Command): void {
  program
    .command('repair <secretId>')
    .description(
      'clear a PENDING version left by an unfinished rotation, or the new credential a rollback kept working (it stops working; CURRENT is untouched)',
    )
    .option('--yes', 'do not ask for confirmation (required without a terminal)')
    .option('--actor <name>', 'who repairs (default: $USER)')
    .action(async (secretId: string, opts: { yes?: boolean; actor?: string }) => {
      const state = await openState();
      try {
        const row = await getSecret(state.pool, secretId);
        if (!row) throw await unknownSecret(state.pool, secretId);
        await loadRotators([row.policy.rotator.name]);
        if (!opts.yes) {
          await confirmByTypingId(secretId, {
            action:
              `Revoke and clear what an unfinished rotation of ${secretId} left: a PENDING version, or the new credential a rollback kept ` +
              'because a consumer did not confirm the old version (make sure every consumer uses CURRENT first)?',
            noTerminal: 'repair without a terminal needs --yes',
            hint: `rotor repair ${secretId} --yes`,
          });
        }
        const { stores } = await openStores(state);
        const result = await repairSecret(
          {
            pool: state.pool,
            store: (backend) => {
              const store = stores[backend];
              if (!store) throw new PermanentError(`secret store ${backend} is not available in this build of rotor`);
              return store;
            },
            rotator: rotatorFor,
            resolveRef: secretRefResolver(state.log),
          },
          secretId,
          cliActor(opts.actor),
        );
        if (!result.repaired) out(`${secretId}: ${result.reason}`);
        else if (result.stage === 'PENDING')
          out(`cleared PENDING version ${result.clearedVersion} of ${secretId}; CURRENT was left untouched`);
        else {
          out(
            `revoked version ${result.clearedVersion} of ${secretId}, kept working by the rollback of run ${result.keptBy}, and cleared it from PREVIOUS; CURRENT was left untouched`,
          );
        }
      } finally {
        await state.close();
      }
    });
}
