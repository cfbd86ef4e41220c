// Short-lived connections to a MySQL or MariaDB server: the admin URL, TLS, timeouts, and errors
// made safe to throw. mysql2 attaches the statement (`sql`) to its errors, and a parse error quotes
// it, so a driver error is never rethrown: a fresh one carries the scrubbed message and the errno.
import mysql from 'mysql2/promise';
import { PermanentError, RotorError, UnavailableError } from '../../src/errors.js';
import { scrub, trackSecret } from '../../src/redact.js';

export type TlsMode = 'disable' | 'require' | 'verify-full';

export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string | undefined;
  tls: TlsMode;
}

export type Connection = mysql.Connection;

/** A server that does not answer within this is "unavailable", and retried by the engine. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** `mysql://user:password@host:port/` (or `mariadb://`). Errors never repeat the URL: it holds a password. */
export function parseAdminUrl(url: string): Omit<Endpoint, 'tls'> {
  const refuse = (why: string) =>
    new PermanentError(`the admin reference does not resolve to a usable MySQL URL: ${why}`, {
      hint: 'it must resolve to mysql://user:password@host:port/ (percent-encode special characters in the password)',
    });
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw refuse('it is not a URL'); // the TypeError carries the input, so it is not kept as cause
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw refuse(`its scheme is ${parsed.protocol} instead of mysql:`);
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw refuse('it holds an invalid percent-encoding');
    }
  };
  const user = decode(parsed.username);
  if (!user) throw refuse('it names no user');
  const password = decode(parsed.password);
  if (password) trackSecret(password);
  const database = decode(parsed.pathname.replace(/^\//, ''));
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: parsed.port ? Number(parsed.port) : 3306,
    user,
    password,
    database: database || undefined,
  };
}

function sslOption(mode: TlsMode): mysql.ConnectionOptions['ssl'] {
  if (mode === 'disable') return undefined;
  return mode === 'require' ? { rejectUnauthorized: false } : { rejectUnauthorized: true };
}

/** Connects as `ep` says. Throws the driver's error as is: callers classify it. */
export async function connect(ep: Endpoint): Promise<Connection> {
  const c = await mysql.createConnection({
    host: ep.host,
    port: ep.port,
    user: ep.user,
    password: ep.password,
    ...(ep.database ? { database: ep.database } : {}),
    ssl: sslOption(ep.tls),
    connectTimeout: CONNECT_TIMEOUT_MS,
    connectAttributes: { program_name: 'rotor' },
    multipleStatements: false,
  });
  // A connection lost while idle emits 'error'; the next query reports it, the process must not crash.
  c.on('error', () => undefined);
  return c;
}

/** Runs `fn` on a fresh connection and always closes it; an abort closes it early. */
export async function withConnection<T>(ep: Endpoint, signal: AbortSignal | undefined, fn: (c: Connection) => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  const c = await connect(ep);
  const close = () => c.destroy();
  signal?.addEventListener('abort', close, { once: true });
  try {
    return await fn(c);
  } finally {
    signal?.removeEventListener('abort', close);
    await c.end().catch(() => c.destroy());
  }
}

/** The server's error number (1045, ...), if the error has one. */
export function errno(err: unknown): number | undefined {
  const n = (err as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' && n >= 1000 ? n : undefined;
}

/** Access denied: wrong password, no such account, or no account for the client's host. */
export function isAuthFailure(err: unknown): boolean {
  return errno(err) === 1045;
}

// 1044 no access to the database, 1045 login refused, 1049 no such database, 1142/1143/1227/1370
// privileges, 1396 an account operation failed, 1064 a statement the server does not take, 1105
// unknown, 1133 no such user, 1819 a password policy refused the password, 4151 locked account.
const PERMANENT = new Set([1044, 1045, 1049, 1064, 1133, 1142, 1143, 1227, 1370, 1396, 1819, 1872, 4151]);
// 1040 too many connections, 1053 shutdown, 1205 lock wait, 1213 deadlock, 2002/2003/2006/2013 gone.
const UNAVAILABLE = new Set([1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013]);

/**
 * An error safe to throw out of the rotator: a fresh one from the scrubbed message (never the
 * driver's, which carries the statement), classed for the engine.
 */
export function classify(what: string, err: unknown): Error {
  if (err instanceof RotorError) return err;
  const n = errno(err);
  const text = err instanceof Error ? err.message : String(err);
  // A parse error quotes the statement it stopped at: that part is never repeated.
  const message = `${what}: ${scrub(text.replace(/near '[\s\S]*$/, 'near (statement not shown)'))}${n ? ` (error ${n})` : ''}`;
  if (n !== undefined && PERMANENT.has(n)) return new PermanentError(message);
  if (n !== undefined ? UNAVAILABLE.has(n) : isNetworkError(err)) return new UnavailableError(message);
  return new RotorError(message);
}

/** Refused, reset, timed out, closed: the driver's codes for a server that cannot be reached now. */
function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (/^(E[A-Z]+|PROTOCOL_CONNECTION_LOST|PROTOCOL_SEQUENCE_TIMEOUT)$/.test(code) || code === 'ETIMEDOUT');
}
