// What a CLI integration test stands on before it runs rotor as a user would: a fresh state
// database (migrated unless asked not to), a temporary directory that is rotor's working directory
// (ROTOR_HOME is `home` in it) and holds the test's policy files, the secrets synced into the
// database, and `cli`, which runs bin/rotor.js against all that. close() takes it down.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { loadPolicies } from '../../src/policy/load.js';
import type { ResolvedSecret } from '../../src/policy/types.js';
import { migrate } from '../../src/state/migrate.js';
import { syncSecrets, type SyncOptions } from '../../src/state/secrets.js';
import { rotor, type CliResult } from './cli.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export interface CliFixtureOptions {
  /** Migrate the database to the latest version; false leaves it empty for the test to migrate. @defaultValue true */
  migrate?: boolean;
  /** More environment for every `cli` call (ROTOR_LOG_LEVEL, ROTOR_REDIS_URL, ...). */
  env?: Record<string, string>;
}

export interface CliFixture {
  db: TestDatabase;
  /** The temporary directory: rotor's working directory, where `write` puts files. */
  dir: string;
  /** `rotor <args>` in `dir`, on `db`, with ROTOR_HOME `dir/home` and the fixture's env; `stdin` as rotor() takes it. */
  cli(args: string[], stdin?: string): Promise<CliResult>;
  /** Writes each file (its path relative to `dir`; folders are made as needed). */
  write(files: Record<string, string>): Promise<void>;
  /** Syncs the secrets into `db` as `rotor start` would (actor `test`; each secret its own target unless said). */
  sync(secrets: readonly ResolvedSecret[], opts: Pick<SyncOptions, 'nextDueOf'> & Partial<Pick<SyncOptions, 'targetKeyOf'>>): Promise<void>;
  /** Loads the policies in `dir/<folder>`, which must have no problems, and syncs them. */
  syncPolicies(folder: string, nextDueOf: SyncOptions['nextDueOf']): Promise<ResolvedSecret[]>;
  /** Drops the database and removes the directory. */
  close(): Promise<void>;
}

/** `label` names the database (as createTestDatabase does) and the temporary directory. */
export async function cliFixture(label: string, opts: CliFixtureOptions = {}): Promise<CliFixture> {
  const db = await createTestDatabase(label);
  let dir: string | undefined;
  try {
    if (opts.migrate !== false) await migrate(db.pool);
    dir = await mkdtemp(join(tmpdir(), `rotor-${label.replace(/[^A-Za-z0-9]+/g, '-')}-`));
  } catch (err) {
    await db.drop();
    throw err;
  }
  const root = dir;
  const fixture: CliFixture = {
    db,
    dir: root,
    cli: (args, stdin) => rotor(args, { ROTOR_DATABASE_URL: db.url, ROTOR_HOME: join(root, 'home'), ...opts.env }, root, stdin),
    async write(files) {
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(root, path)), { recursive: true });
        await writeFile(join(root, path), text);
      }
    },
    async sync(secrets, o) {
      await syncSecrets(db.pool, secrets, { actor: 'test', targetKeyOf: o.targetKeyOf ?? ((s) => s.id), nextDueOf: o.nextDueOf });
    },
    async syncPolicies(folder, nextDueOf) {
      const loaded = await loadPolicies(join(root, folder));
      expect(loaded.problems).toEqual([]);
      await fixture.sync(loaded.secrets, { nextDueOf });
      return loaded.secrets;
    },
    async close() {
      await db.drop();
      await rm(root, { recursive: true, force: true });
    },
  };
  return fixture;
}
