// rotor migrate: applies the state database's migrations and exits.
import type { Command } from 'commander';
import { migrate } from '../state/migrate.js';
import { openState, out } from './context.js';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply the state database migrations (rotor start does this too)')
    .action(async () => {
      const state = await openState({ requireSchema: false });
      try {
        const applied = await migrate(state.pool);
        out(applied.length ? `applied ${applied.join(', ')}` : 'the state database is up to date');
      } finally {
        await state.close();
      }
    });
}
