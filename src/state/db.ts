// The state database connection: one pg pool per process, with errors that say what to do.
import { createHash } from 'node:crypto';
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

/** Statement names by text: a text is hashed once per process (the engine sends the same few dozen). */
const names = new Map<string, string>();

function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    if (names.size >= 2000) names.clear(); // dynamic texts (filters) are few; never let them grow without bound
    name = `rotor_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * A client whose parameterised statements are named prepared statements: PostgreSQL parses and
 * plans each text once per connection instead of on every call. A rotation sends ~50 short
 * statements to the state database; parsing and planning them was a measurable part of the state
 * database's CPU (docs/benchmarks.md, the incident bench). A text without parameters (DDL, a
 * migration, several statements in one) is sent as it is. The name is the text's hash, so one
 * name never stands for two texts.
 */
export class PreparingClient extends pg.Client {
  // pg's overloads cannot be restated one by one here; the call is passed on unchanged but for the name.
  override query(...args: unknown[]): never {
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0) args[0] = { name: statementName(text), text };
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

export function createStatePool(opts: StatePoolOptions): pg.Pool {
  const pool = new pg.Pool({
    Client: PreparingClient,
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
