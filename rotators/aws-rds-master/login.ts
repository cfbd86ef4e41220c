// Logging in to the database behind an RDS instance or cluster, as an application would: the
// proof that a master password is applied. PostgreSQL engines only (node-postgres).
import pg from 'pg';
import { PermanentError, UnavailableError } from '../../src/errors.js';
import { redactError } from '../../src/redact.js';

export interface LoginTarget {
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
    host: t.host, port: t.port, database: t.database, user: t.user, password: t.password, ssl: tls,
    application_name: 'rotor', connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: CONNECT_TIMEOUT_MS,
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

/** The role the credential logs in as; throws the driver's error as is (see isAuthFailure). */
export async function login(t: LoginTarget, signal: AbortSignal): Promise<string | undefined> {
  if (t.sslmode !== 'prefer') return connectOnce(t, ssl(t.sslmode), signal);
  try {
    return await connectOnce(t, ssl('prefer'), signal);
  } catch (err) {
    if (!(err instanceof Error) || !/does not support SSL/i.test(err.message)) throw err;
    return connectOnce(t, false, signal);
  }
}

/** The server refused the credential (wrong password, no such role, pg_hba). */
export function isAuthFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '28P01' || code === '28000';
}

/** A connection failure made safe and classed: refusals are permanent, the rest may pass. */
export function loginError(what: string, err: unknown): Error {
  const safe = redactError(err instanceof Error ? err : new Error(String(err)));
  const code = (err as { code?: unknown } | null)?.code;
  const message = `${what}: ${safe.message}${typeof code === 'string' ? ` (${code})` : ''}`;
  if (typeof code === 'string' && /^(28|3D|42)/.test(code)) return new PermanentError(message, { cause: safe });
  return new UnavailableError(message, { cause: safe });
}
