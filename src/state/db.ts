// The state database connection: one pg pool per process, with errors that say what to do.
import pg from 'pg';
import { UnavailableError } from '../errors.js';
import { scrub } from '../redact.js';

export type Queryable = Pick<pg.Pool, 'query'>;

export interface StatePoolOptions {
  url: string;
  /** @defaultValue 10 */
  max?: number;
  /** Used in pg_stat_activity, so an operator can tell rotor's sessions apart. @defaultValue 'rotor' */
  applicationName?: string;
}

export function createStatePool(opts: StatePoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'rotor',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** Connects once so a wrong URL fails at start-up with a clear message instead of mid-run. */
export async function checkStateDatabase(pool: pg.Pool, url: string): Promise<void> {
  try {
    await pool.query('select 1');
  } catch (err) {
    throw new UnavailableError(`cannot reach the state database at ${scrub(url)}: ${scrub((err as Error).message)}`, {
      cause: err,
      hint: 'check ROTOR_DATABASE_URL and that PostgreSQL is running, or unset it to use the embedded default',
    });
  }
}

/** Runs `fn` in a transaction on one client; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
