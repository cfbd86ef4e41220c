// The demo application's database side: a pg.Pool built from one stored version of its credential,
// swapped for a new one on reload while the old one drains (queries in flight finish, then it closes).
import pg from 'pg';
import { z } from 'zod';
import { redactError, trackSecret } from '../../src/redact.js';
import type { StoredVersion } from '../../src/store/contract.js';
import type { Logger } from '../../src/log.js';

/**
 * The fields the app needs from the value the postgres rotator stores (alternating users:
 * `{ engine, host, port, dbname, username, password }`, the AWS database secret layout).
 */
const credentialSchema = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(1).max(65535),
  dbname: z.string().min(1),
  username: z.string().min(1),
  password: z.string().min(1),
});

/** Pool settings the app's owner may tune; the connection itself always comes from the store. */
export type PoolSettings = Pick<pg.PoolConfig, 'max' | 'maxUses' | 'idleTimeoutMillis' | 'connectionTimeoutMillis' | 'ssl'>;

export interface LoadedPool {
  versionId: string;
  /** The login role of this version (not secret: alternating users differ only by it and the password). */
  username: string;
  /** Runs one statement on the pool; counted, so a drain waits for it. */
  query(sql: string): Promise<unknown>;
  /**
   * Ends the pool gracefully once no statement is running on it. The caller must have stopped
   * routing new work here first (the app swaps pools before draining). Resolves when every
   * connection of the pool is gone.
   */
  drain(log: Logger): Promise<void>;
}

/** A database refusal or outage, with the SQLSTATE when the server gave one; never the credential. */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** SQLSTATE class 28: the server refused the login (wrong password, no such role, not allowed). */
export function isAuthFailure(code: string | undefined): boolean {
  return code !== undefined && code.startsWith('28');
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Builds a pool for `version` and proves it logs in; throws a DatabaseError otherwise. */
export async function openPool(version: StoredVersion, settings: PoolSettings, log: Logger): Promise<LoadedPool> {
  trackSecret(version.value);
  const parsed = credentialSchema.safeParse(version.value);
  if (!parsed.success) {
    // Name the fields, never their contents.
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.')))].join(', ');
    throw new DatabaseError(`version ${version.versionId} is not a PostgreSQL credential (bad or missing: ${fields})`, undefined);
  }
  const c = parsed.data;
  const pool = new pg.Pool({
    connectionTimeoutMillis: 5_000,
    ...settings,
    host: c.host,
    port: c.port,
    database: c.dbname,
    user: c.username,
    password: c.password,
  });
  // An idle connection the server ends (a terminated session after revoke) must not crash the app.
  pool.on('error', (err) => log.warn({ versionId: version.versionId, err: redactError(err).message }, 'idle database connection lost'));
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw toDatabaseError(`PostgreSQL refused version ${version.versionId} (role ${c.username})`, err);
  }
  // pg.Pool's end() never serves requests still queued for a connection (they would hang), so
  // statements are counted and the pool is ended only once the last one is done.
  let running = 0;
  let whenIdle: (() => void) | undefined;
  let drained: Promise<void> | undefined;
  return {
    versionId: version.versionId,
    username: c.username,
    async query(sql) {
      running++;
      try {
        return await pool.query(sql);
      } finally {
        if (--running === 0) whenIdle?.();
      }
    },
    drain(log) {
      drained ??= (async () => {
        const started = Date.now();
        if (running > 0) await new Promise<void>((resolve) => (whenIdle = resolve));
        try {
          await pool.end();
          log.info({ versionId: version.versionId, role: c.username, ms: Date.now() - started }, 'old pool drained');
        } catch (err) {
          log.warn({ versionId: version.versionId, err: redactError(err as Error).message }, 'old pool did not close cleanly');
        }
      })();
      return drained;
    },
  };
}

export function toDatabaseError(what: string, err: unknown): DatabaseError {
  const code = sqlState(err);
  const safe = redactError(err instanceof Error ? err : new Error(String(err)));
  return new DatabaseError(`${what}: ${safe.message}${code ? ` (SQLSTATE ${code})` : ''}`, code, { cause: safe });
}
