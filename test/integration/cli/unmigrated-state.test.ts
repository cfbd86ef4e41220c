// A state database that was never migrated (or is behind this rotor) is a setup step to take, not
// a bug: commands that open the state say to run `rotor migrate` and exit 2, instead of
// "internal error: relation "secrets" does not exist" with exit 1.
import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../../../src/cli/context.js';
import { EXIT, exitCodeOf } from '../../../src/cli/exit-codes.js';
import { migrate } from '../../../src/state/migrate.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

const saved = process.env.ROTOR_DATABASE_URL;
let db: TestDatabase | undefined;
afterEach(async () => {
  if (saved === undefined) delete process.env.ROTOR_DATABASE_URL;
  else process.env.ROTOR_DATABASE_URL = saved;
  await db?.drop();
  db = undefined;
});

describe('opening a state database that was never migrated', () => {
  it('says to run rotor migrate, with exit 2', async () => {
    db = await createTestDatabase('unmigrated');
    process.env.ROTOR_DATABASE_URL = db.url;
    const err = await openState().then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/not migrated/);
    expect((err as { hint?: string }).hint).toContain('rotor migrate');
    expect(exitCodeOf(err)).toBe(EXIT.USAGE);
  });

  it('opens it once migrated, and lets rotor migrate open it before', async () => {
    db = await createTestDatabase('migrated');
    process.env.ROTOR_DATABASE_URL = db.url;
    const forMigrate = await openState({ requireSchema: false });
    await migrate(forMigrate.pool);
    await forMigrate.close();
    const state = await openState();
    await state.close();
  });
});
