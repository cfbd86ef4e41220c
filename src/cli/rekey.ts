// rotor rekey: the last step of a master key rotation of the local store (see the README).
import type { Command } from 'commander';
import { InvalidInputError } from '../errors.js';
import { keyFileIn, loadMasterKey, masterKeyPresent } from '../store/master-key.js';
import { rekeyLocalStore } from '../store/local/rekey.js';
import { openState, out } from './context.js';
import { EXIT } from './exit-codes.js';

export function register(program: Command): void {
  program
    .command('rekey')
    .description('seal every version of the local store with ROTOR_MASTER_KEY again, opening old ones with ROTOR_MASTER_KEY_PREVIOUS')
    .action(async () => {
      const state = await openState();
      try {
        const keyFile = keyFileIn(state.config.ROTOR_HOME);
        // A key file created now would be a new key no version was sealed with: refuse instead.
        if (!masterKeyPresent(process.env, state.config.ROTOR_HOME)) {
          throw new InvalidInputError(`no master key: ROTOR_MASTER_KEY is unset and ${keyFile} does not exist`, {
            hint: 'set ROTOR_MASTER_KEY to the new key and ROTOR_MASTER_KEY_PREVIOUS to the old one, then run rotor rekey',
          });
        }
        const key = await loadMasterKey({ env: process.env, keyFile });
        const result = await rekeyLocalStore(state.pool, key);
        const moved = Object.entries(result.moved);
        const total = moved.reduce((n, [, k]) => n + k, 0);
        out(
          total
            ? `sealed ${total} version(s) again with key ${result.keyId} (from ${moved.map(([id, n]) => `${id}: ${n}`).join(', ')}); ${result.already} already were`
            : `every version (${result.already}) is already sealed with key ${result.keyId}; nothing to do`,
        );
        if (result.remaining) {
          out(
            `${result.remaining} version(s) were sealed with an old key while this ran: a process still uses the old ROTOR_MASTER_KEY; restart it with the new key and run rotor rekey again`,
          );
          process.exitCode = EXIT.CHECK_FAILED;
        } else if (key.previous?.length) {
          out('no version needs ROTOR_MASTER_KEY_PREVIOUS any more: remove it from every rotor process');
        }
      } finally {
        await state.close();
      }
    });
}
