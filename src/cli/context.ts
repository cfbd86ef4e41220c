// What most commands need: configuration, a logger, the state database (yours or the embedded one)
// and the queue, opened once and closed in reverse order.
import { dirname } from 'node:path';
import type pg from 'pg';
import { lazyAwsRefReader } from '../aws/lazy-ref-reader.js';
import { lazyVaultRefReader } from '../store/vault-kv/lazy-ref-reader.js';
import { readRefFile } from '../policy/ref-file.js';
import { quietOnClosedStdout } from './stdout.js';
import { resolveRef } from '../policy/refs.js';
import type { ResolvedSecret } from '../policy/types.js';
import type { SecretStore } from '../store/contract.js';
import { openAllStores } from '../store/catalogue.js';
import { createLocalStore } from '../store/local/store.js';
import { keyFileIn, loadMasterKey } from '../store/master-key.js';
import { loadConfig, type RotorConfig } from '../config.js';
import { embeddedUrl, startEmbeddedPostgres, type EmbeddedServer } from '../embedded/postgres.js';
import { createLogger, type Logger } from '../log.js';
import type { QueueKit } from '../queue/backend.js';
import { checkStateDatabase, createStatePool } from '../state/db.js';
import { listMigrations, migrate } from '../state/migrate.js';
import { InvalidInputError } from '../errors.js';

export const EMBEDDED_DATABASE = 'rotor';

export interface StateHandle {
  config: RotorConfig;
  log: Logger;
  pool: pg.Pool;
  url: string;
  embedded: EmbeddedServer | undefined;
  close(): Promise<void>;
}

/**
 * Opens the state database. With ROTOR_DATABASE_URL that server; otherwise the embedded one:
 * started here when `startEmbedded` (rotor start), else the one a running `rotor start` owns.
 */
export async function openState(opts: { startEmbedded?: boolean; migrate?: boolean; requireSchema?: boolean } = {}): Promise<StateHandle> {
  const config = loadConfig();
  const log = createLogger();
  let embedded: EmbeddedServer | undefined;
  let url = config.ROTOR_DATABASE_URL;
  if (!url) {
    if (opts.startEmbedded) {
      embedded = await startEmbeddedPostgres(config.ROTOR_HOME, (line) => log.warn(line));
      const admin = createStatePool({ url: embedded.url('postgres'), max: 1 });
      const exists = await admin.query('select 1 from pg_database where datname = $1', [EMBEDDED_DATABASE]);
      if (!exists.rowCount) await admin.query(`create database ${EMBEDDED_DATABASE}`);
      await admin.end();
      url = embedded.url(EMBEDDED_DATABASE);
    } else {
      url = await embeddedUrl(config.ROTOR_HOME, EMBEDDED_DATABASE);
    }
  }
  const pool = createStatePool({ url });
  await checkStateDatabase(pool, url);
  if (opts.migrate) await migrate(pool);
  else if (opts.requireSchema !== false)
    await requireMigrated(pool, url).catch(async (err: unknown) => {
      await pool.end().catch(() => undefined);
      await embedded?.stop().catch(() => undefined);
      throw err;
    });
  let closing: Promise<void> | undefined;
  return {
    config,
    log,
    pool,
    url,
    embedded,
    close() {
      closing ??= (async () => {
        await pool.end().catch(() => undefined);
        await embedded?.stop().catch(() => undefined);
      })();
      return closing;
    },
  };
}

/**
 * A database `rotor migrate` never ran on, or one behind this rotor, fails the first query on a
 * missing table or column: said here once, as what to do, instead of "relation ... does not exist".
 */
async function requireMigrated(pool: pg.Pool, url: string): Promise<void> {
  const latest = Math.max(0, ...listMigrations().map((m) => m.version));
  let applied = 0;
  try {
    const r = await pool.query<{ v: number | null }>('select max(version)::int as v from rotor_migrations');
    applied = r.rows[0]?.v ?? 0;
  } catch (err) {
    // 42P01 undefined_table: rotor_migrations itself is missing.
    if ((err as { code?: string }).code !== '42P01') throw err;
  }
  if (applied < latest) {
    throw new InvalidInputError(
      `the state database at ${redactUrl(url)} is not migrated (schema version ${applied}, this rotor needs ${latest})`,
      {
        hint: 'run rotor migrate (with the same ROTOR_DATABASE_URL), then this command again',
      },
    );
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'ROTOR_DATABASE_URL';
  }
}

/**
 * The state database when one is configured (ROTOR_DATABASE_URL, or a running embedded rotor),
 * else undefined: read-only commands such as `plan` work with or without one.
 */
export async function openStateIfConfigured(): Promise<StateHandle | undefined> {
  const config = loadConfig();
  if (config.ROTOR_DATABASE_URL) return openState();
  try {
    return await openState();
  } catch {
    return undefined;
  }
}

/** The queue; BullMQ is loaded here, on first use: read-only commands such as status never need it. */
export async function openQueue(state: StateHandle): Promise<QueueKit> {
  const redis = state.config.ROTOR_REDIS_URL;
  const { createQueueKit } = await import('../queue/backend.js');
  return createQueueKit(redis ? { kind: 'redis', url: redis } : { kind: 'postgres', url: state.url }, state.log);
}

/**
 * Resolves a secret's references relative to its policy file (how workers and repair read them).
 * `aws-sm:` references use the SDK's default chain; the SDK is loaded on the first one.
 */
export function secretRefResolver(log?: Logger): (ref: string, secret: ResolvedSecret) => Promise<string> {
  const awsSecretsManager = lazyAwsRefReader(log);
  const vault = lazyVaultRefReader(log);
  return (ref, secret) =>
    resolveRef(ref, {
      baseDir: dirname(secret.source.file),
      env: process.env,
      readFile: (p, base) => readRefFile(p, { policyDir: base }),
      awsSecretsManager,
      vault,
    });
}

/** The local store on the state database, with the master key from ROTOR_MASTER_KEY or the key file. */
export async function openLocalStore(state: StateHandle): Promise<{ store: SecretStore; keySource: 'env' | 'file' }> {
  const key = await loadMasterKey({ env: process.env, keyFile: keyFileIn(state.config.ROTOR_HOME) });
  return { store: createLocalStore({ pool: state.pool, key }), keySource: key.source };
}

/** Every secret store of the store catalogue, by backend, with the master key for the local one. */
export async function openStores(state: StateHandle): Promise<{ stores: Record<string, SecretStore>; keySource: 'env' | 'file' }> {
  const key = await loadMasterKey({ env: process.env, keyFile: keyFileIn(state.config.ROTOR_HOME) });
  return { stores: await openAllStores({ pool: state.pool, log: state.log, masterKey: key }), keySource: key.source };
}

/** Prints to stdout: the only channel for a command's result (logs go to stderr). */
export function out(line = ''): void {
  quietOnClosedStdout();
  process.stdout.write(line + '\n');
}
