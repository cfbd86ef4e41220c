// Short-lived connections to the target: the admin URL, TLS modes, timeouts, and errors made safe
// to throw (no password, a class the engine can act on).
import pg from 'pg';
import { PermanentError, RotorError, UnavailableError } from '../../src/errors.js';
import { redactError, trackSecret } from '../../src/redact.js';
import { isLoopbackHost } from '../../src/rotator/loopback.js';

/** libpq's sslmode values that mean something to node-postgres (`allow` is treated as `prefer`). */
export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface Endpoint {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | undefined;
  sslmode: SslMode;
}

/** A connection that does not answer within this is "unavailable", and retried by the engine. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Catalog reads and ALTER ROLE take milliseconds; anything slower is waiting on a lock. */
export const STATEMENT_TIMEOUT_MS = 15_000;

const SSL_MODES: Record<string, SslMode> = {
  disable: 'disable',
  allow: 'prefer',
  prefer: 'prefer',
  require: 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
};

/**
 * Reads an admin connection URL (`postgres://user:password@host:port/db?sslmode=...`). Errors
 * never repeat the URL: it holds a password.
 */
export function parseAdminUrl(url: string, sslmode: SslMode): Endpoint;
export function parseAdminUrl(url: string, sslmode: SslMode | undefined): Omit<Endpoint, 'sslmode'> & { sslmode: SslMode | undefined };
export function parseAdminUrl(url: string, sslmode: SslMode | undefined): Omit<Endpoint, 'sslmode'> & { sslmode: SslMode | undefined } {
  const refuse = (why: string) =>
    new PermanentError(`the admin reference does not resolve to a usable PostgreSQL URL: ${why}`, {
      hint: 'it must resolve to postgres://user:password@host:port/database (percent-encode special characters in the password)',
    });
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw refuse('it is not a URL'); // the TypeError carries the input, so it is not kept as cause
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw refuse(`its scheme is ${parsed.protocol} instead of postgres:`);
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw refuse('it holds an invalid percent-encoding');
    }
  };
  const user = decode(parsed.username);
  if (!user) throw refuse('it names no user');
  const password = parsed.password ? decode(parsed.password) : undefined;
  if (password) trackSecret(password);
  const mode = parsed.searchParams.get('sslmode');
  if (mode !== null && !(mode in SSL_MODES)) throw refuse(`sslmode=${mode} is not one of ${Object.keys(SSL_MODES).join(', ')}`);
  return {
    // A host parameter (a Unix socket directory) wins over the authority part, as in libpq.
    host: parsed.searchParams.get('host') ?? (parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost'),
    port: parsed.port ? Number(parsed.port) : 5432,
    database: decode(parsed.pathname.replace(/^\//, '')) || user,
    user,
    password,
    sslmode: mode === null ? sslmode : (SSL_MODES[mode] ?? sslmode),
  };
}

/**
 * The TLS mode when the policy chose none: verified TLS (certificate and host name) for any host
 * reached over a network, where an attacker in the path could otherwise strip TLS; `prefer` on
 * loopback, where no one is in the path and local servers rarely have certificates.
 */
export function defaultSslMode(chosen: SslMode | undefined, host: string): SslMode {
  return chosen ?? (isLoopbackHost(host) ? 'prefer' : 'verify-full');
}

// Servers that answered `prefer` with "no TLS here": later connections skip the TLS attempt.
const plainOnly = new Set<string>();

function sslOption(mode: SslMode): pg.ClientConfig['ssl'] {
  switch (mode) {
    case 'disable':
      return false;
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false }; // libpq's require encrypts without verifying, too
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

async function open(ep: Endpoint, ssl: pg.ClientConfig['ssl']): Promise<pg.Client> {
  const client = new pg.Client({
    host: ep.host,
    port: ep.port,
    database: ep.database,
    user: ep.user,
    password: ep.password ?? '',
    ssl,
    application_name: 'rotor',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + CONNECT_TIMEOUT_MS,
  });
  // A connection lost while idle emits 'error'; the next query reports it, the process must not crash.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** Connects as `ep` says. Throws the driver's error as is: callers classify it (see classify). */
export async function connect(ep: Endpoint): Promise<pg.Client> {
  const key = `${ep.host}:${ep.port}`;
  if (ep.sslmode !== 'prefer' || plainOnly.has(key)) return open(ep, ep.sslmode === 'prefer' ? false : sslOption(ep.sslmode));
  try {
    return await open(ep, sslOption('prefer'));
  } catch (err) {
    if (!(err instanceof Error) || !/does not support SSL/i.test(err.message)) throw err;
    plainOnly.add(key);
    return open(ep, false);
  }
}

/** Runs `fn` on a fresh connection and always closes it; an abort closes it early. */
export async function withClient<T>(ep: Endpoint, signal: AbortSignal | undefined, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  const client = await connect(ep);
  const close = () => void client.end().catch(() => undefined);
  signal?.addEventListener('abort', close, { once: true });
  try {
    return await fn(client);
  } finally {
    signal?.removeEventListener('abort', close);
    await client.end().catch(() => undefined);
  }
}

/** SQLSTATE of a driver error, if it has one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The server refused the credential (wrong password, no password, NOLOGIN, no such role, pg_hba). */
export function isAuthFailure(err: unknown): boolean {
  const code = sqlState(err);
  return code === '28P01' || code === '28000';
}

/**
 * An error safe to throw out of the rotator: scrubbed, and classed for the engine. Refusals that
 * retries cannot change are PermanentError; an unreachable or overloaded server is UnavailableError.
 */
export function classify(what: string, err: unknown): Error {
  if (err instanceof RotorError) return err;
  const safe = redactError(err instanceof Error ? err : new Error(String(err)));
  const code = sqlState(err);
  const message = `${what}: ${safe.message}${code ? ` (SQLSTATE ${code})` : ''}`;
  const kind = code?.slice(0, 2);
  // 28 authorization, 3D no such database, 42 privileges / undefined objects: an operator must act.
  if (kind === '28' || kind === '3D' || kind === '42') return new PermanentError(message, { cause: safe });
  // No SQLSTATE (refused, reset, timed out), 08 connection, 53 resources, 57 shutdown or timeout, 40, 55 locks.
  if (!code || ['08', '53', '57', '40', '55'].includes(kind ?? '')) return new UnavailableError(message, { cause: safe });
  return new RotorError(message, { cause: safe });
}
