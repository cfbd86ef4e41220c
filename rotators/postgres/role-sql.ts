// The statements the rotator changes a target with: role passwords (as SCRAM verifiers only) and
// the sessions of a role (the drain check).
import pg from 'pg';
import type { Queryable } from './catalog.js';
import { scramVerifier } from './scram.js';

/**
 * Sets `user`'s password to a verifier built here. Utility statements take no `$1` parameters, so
 * the role is quoted as an identifier and the verifier as a literal; the cleartext never leaves.
 */
export async function setPassword(c: Queryable, user: string, password: string): Promise<void> {
  await c.query(`ALTER ROLE ${pg.escapeIdentifier(user)} PASSWORD ${pg.escapeLiteral(scramVerifier(password))}`);
}

/** Removes `user`'s password: every password login fails from now on; open sessions stay. */
export async function clearPassword(c: Queryable, user: string): Promise<void> {
  await c.query(`ALTER ROLE ${pg.escapeIdentifier(user)} PASSWORD NULL`);
}

/** Sessions logged in as `user`, on any database of the server, except the caller's own. */
export async function countSessions(c: Queryable, user: string): Promise<number> {
  const { rows } = await c.query<{ n: number }>(
    'select count(*)::int as n from pg_stat_activity where usename = $1 and pid <> pg_backend_pid()',
    [user],
  );
  return rows[0]?.n ?? 0;
}

export interface TerminateOptions {
  /** How long to wait for the signalled backends to exit. @defaultValue 5000 */
  waitMs?: number;
}

/**
 * Terminates every session of `user` and waits until they are gone; returns how many were
 * signalled. A backend the admin may not signal (a superuser's, or without pg_signal_backend) is
 * not counted.
 */
export async function terminateSessions(c: Queryable, user: string, opts: TerminateOptions = {}): Promise<number> {
  const { rows } = await c.query<{ pid: number; ok: boolean }>(
    `select pid, pg_terminate_backend(pid) as ok
       from pg_stat_activity where usename = $1 and pid <> pg_backend_pid()`,
    [user],
  );
  const pids = rows.filter((r) => r.ok).map((r) => r.pid);
  const deadline = Date.now() + (opts.waitMs ?? 5_000);
  while (pids.length && Date.now() < deadline) {
    const left = await c.query('select 1 from pg_stat_activity where pid = any($1::int[])', [pids]);
    if (!left.rowCount) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return pids.length;
}
