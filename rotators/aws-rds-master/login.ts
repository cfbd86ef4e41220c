// Logging in to the database behind an RDS instance or cluster, as an application would: the
// proof that a master password is applied. PostgreSQL engines with node-postgres; MySQL, MariaDB
// and Aurora MySQL with mysql2.
import mysql from 'mysql2/promise';
import pg from 'pg';
import { PermanentError, UnavailableError } from '../../src/errors.js';
import { redactError } from '../../src/redact.js';

/** Engines that speak the MySQL protocol (RDS's names). */
export const MYSQL_ENGINES = ['mysql', 'mariadb', 'aurora-mysql'] as const;

export function isMysqlEngine(engine: string): boolean {
  return (MYSQL_ENGINES as readonly string[]).includes(engine);
}

export interface LoginTarget {
  /** RDS's engine name: which client logs in. */
  engine: string;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: 'disable' | 'prefer' | 'require' | 'verify-full';
}

const CONNECT_TIMEOUT_MS = 10_000;

function ssl(mode: LoginTarget['sslmode']): pg.ClientConfig['ssl'] {
  if (mode === 'disable') return false;
  return mode === 'verify-full' ? { rejectUnauthorized: true } : { rejectUnauthorized: false };
}

async function connectOnce(t: LoginTarget, tls: pg.ClientConfig['ssl'], signal: AbortSignal): Promise<string | undefined> {
  signal.throwIfAborted();
  const client = new pg.Client({
    host: t.host,
    port: t.port,
    database: t.database,
    user: t.user,
    password: t.password,
    ssl: tls,
    application_name: 'rotor',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: CONNECT_TIMEOUT_MS,
  });
  client.on('error', () => undefined);
  const close = () => void client.end().catch(() => undefined);
  signal.addEventListener('abort', close, { once: true });
  try {
    await client.connect();
    return (await client.query<{ u: string }>('select current_user as u')).rows[0]?.u;
  } finally {
    signal.removeEventListener('abort', close);
    await client.end().catch(() => undefined);
  }
}

/** MySQL protocol: `prefer` is tried with TLS, then without when the server has none. */
async function mysqlOnce(t: LoginTarget, tls: boolean, signal: AbortSignal): Promise<string | undefined> {
  signal.throwIfAborted();
  const c = await mysql.createConnection({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    ...(t.database ? { database: t.database } : {}),
    ssl: tls ? { rejectUnauthorized: t.sslmode === 'verify-full' } : undefined,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
  c.on('error', () => undefined);
  const close = () => c.destroy();
  signal.addEventListener('abort', close, { once: true });
  try {
    const [rows] = await c.query('SELECT CURRENT_USER() AS u');
    // CURRENT_USER() is user@host: the user part is what the credential names.
    return String((rows as Array<{ u?: unknown }>)[0]?.u ?? '').replace(/@[^@]*$/, '');
  } finally {
    signal.removeEventListener('abort', close);
    await c.end().catch(() => c.destroy());
  }
}

/** The role the credential logs in as; throws the driver's error as is (see isAuthFailure). */
export async function login(t: LoginTarget, signal: AbortSignal): Promise<string | undefined> {
  if (isMysqlEngine(t.engine)) {
    if (t.sslmode !== 'prefer') return mysqlOnce(t, t.sslmode !== 'disable', signal);
    try {
      return await mysqlOnce(t, true, signal);
    } catch (err) {
      if (!(err instanceof Error) || !/SSL|TLS/i.test(err.message) || isAuthFailure(err)) throw err;
      return mysqlOnce(t, false, signal);
    }
  }
  if (t.sslmode !== 'prefer') return connectOnce(t, ssl(t.sslmode), signal);
  try {
    return await connectOnce(t, ssl('prefer'), signal);
  } catch (err) {
    if (!(err instanceof Error) || !/does not support SSL/i.test(err.message)) throw err;
    return connectOnce(t, false, signal);
  }
}

/** The server refused the credential (wrong password, no such role, pg_hba; MySQL error 1045). */
export function isAuthFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '28P01' || code === '28000' || (err as { errno?: unknown } | null)?.errno === 1045;
}

/** A connection failure made safe and classed: refusals are permanent, the rest may pass. */
export function loginError(what: string, err: unknown): Error {
  const safe = redactError(err instanceof Error ? err : new Error(String(err)));
  const code = (err as { code?: unknown } | null)?.code;
  const errno = (err as { errno?: unknown } | null)?.errno;
  const message = `${what}: ${safe.message}${typeof code === 'string' ? ` (${code})` : ''}`;
  if (typeof code === 'string' && /^(28|3D|42)/.test(code)) return new PermanentError(message, { cause: safe });
  // MySQL: 1044 no access to the database, 1045 refused, 1049 no such database.
  if (errno === 1044 || errno === 1045 || errno === 1049) return new PermanentError(message, { cause: safe });
  return new UnavailableError(message, { cause: safe });
}
