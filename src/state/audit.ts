// The append-only audit trail: who or what, which secret, which run, when, why.
import type { Queryable } from './db.js';

export interface AuditEntry {
  actor: string;
  action: string;
  secretId?: string | null;
  runId?: string | null;
  reason?: string | null;
  /** Ids, versions, step names, counts: never a secret value. */
  detail?: Record<string, unknown>;
}

export interface AuditRow extends Required<Omit<AuditEntry, 'detail'>> {
  id: number;
  at: Date;
  detail: Record<string, unknown> | null;
}

export async function appendAudit(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query('insert into audit (actor, action, secret_id, run_id, reason, detail) values ($1, $2, $3, $4, $5, $6)', [
    e.actor,
    e.action,
    e.secretId ?? null,
    e.runId ?? null,
    e.reason ?? null,
    e.detail ? JSON.stringify(e.detail) : null,
  ]);
}

export interface AuditQuery {
  secretId?: string | undefined;
  runId?: string | undefined;
  actor?: string | undefined;
  /** Actions starting with this text (`run.` finds every run event). */
  actionPrefix?: string | undefined;
  since?: Date | undefined;
  /** Rows with a smaller id than this: the next page, newest first. */
  before?: number | undefined;
  /** @defaultValue false (newest first) */
  oldestFirst?: boolean | undefined;
  /** @defaultValue 200 */
  limit?: number | undefined;
}

/** The audit trail, filtered: `rotor audit`, the dashboard's audit page and a run's audit rows. */
export async function listAudit(db: Queryable, q: AuditQuery = {}): Promise<AuditRow[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.secretId) where.push(`secret_id = $${args.push(q.secretId)}`);
  if (q.runId) where.push(`run_id = $${args.push(q.runId)}`);
  if (q.actor) where.push(`actor = $${args.push(q.actor)}`);
  if (q.actionPrefix) where.push(`action like $${args.push(q.actionPrefix.replace(/[%_\\]/g, '\\$&') + '%')}`);
  if (q.since) where.push(`at >= $${args.push(q.since)}`);
  if (q.before) where.push(`id < $${args.push(q.before)}`);
  const sql = `select id::int, at, actor, action, secret_id as "secretId", run_id as "runId", reason, detail
    from audit ${where.length ? 'where ' + where.join(' and ') : ''} order by id ${q.oldestFirst ? 'asc' : 'desc'} limit $${args.push(q.limit ?? 200)}`;
  return (await db.query<AuditRow>(sql, args)).rows;
}
