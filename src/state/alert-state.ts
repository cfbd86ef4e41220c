// The alert sender's bookkeeping: its leader lock, where it got to in the audit trail
// (`alert_state`), and the audit rows after that cursor. Used by src/observe/watcher.ts.
import type pg from 'pg';
import type { Queryable } from './db.js';

/** Arbitrary but fixed: 'RTAL'. One process at a time holds it and sends alerts. */
const ALERT_LEADER_LOCK = 0x5254414c;

export interface AlertCursor {
  /** The highest audit id the sender has handled. */
  cursor: number;
  /** Secrets the sender last saw overdue (so only newly overdue ones alert). */
  overdue: string[];
  /** Manual secrets the sender last saw due (so only newly due ones alert). */
  due: string[];
}

/** An audit row as the watcher reads it: what alerts and traces are made of. */
export interface WatchedAuditRow {
  id: number;
  action: string;
  actor: string;
  secret_id: string | null;
  run_id: string | null;
  reason: string | null;
  detail: Record<string, unknown> | null;
}

/** Takes the sender's lock on this session (a dedicated client): false when another process holds it. */
export async function tryLeadAlerts(client: pg.PoolClient): Promise<boolean> {
  return (await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [ALERT_LEADER_LOCK])).rows[0]!.ok;
}

export async function releaseAlertLead(client: pg.PoolClient): Promise<void> {
  await client.query('select pg_advisory_unlock($1)', [ALERT_LEADER_LOCK]);
}

export async function readAlertCursor(db: Queryable, name: string): Promise<AlertCursor | undefined> {
  return (await db.query<AlertCursor>('select audit_cursor::int as cursor, overdue, due from alert_state where name = $1', [name])).rows[0];
}

export async function saveAlertCursor(db: Queryable, name: string, state: AlertCursor): Promise<void> {
  await db.query(
    `insert into alert_state (name, audit_cursor, overdue, due) values ($1, $2, $3, $4)
     on conflict (name) do update set audit_cursor = excluded.audit_cursor, overdue = excluded.overdue, due = excluded.due, updated_at = now()`,
    [name, state.cursor, state.overdue, state.due],
  );
}

/** The newest audit id (0 for an empty trail): where a sender that never ran starts. */
export async function latestAuditId(db: Queryable): Promise<number> {
  return (await db.query<{ id: number }>('select coalesce(max(id), 0)::int as id from audit')).rows[0]!.id;
}

/** Audit rows with an id above `afterId`, oldest first. */
export async function auditRowsAfter(db: Queryable, afterId: number, limit: number): Promise<WatchedAuditRow[]> {
  return (
    await db.query<WatchedAuditRow>(
      'select id::int, action, actor, secret_id, run_id, reason, detail from audit where id > $1 order by id limit $2',
      [afterId, limit],
    )
  ).rows;
}
