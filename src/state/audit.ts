// The append-only audit trail: who or what, which secret, which run, when, why. Tamper-evident:
// each row carries the hash of the row before it and its own (a chain per database), set by the
// audit_link trigger of migration 0008 in the statement that inserts the row, whichever statement
// that is (appendAudit below, a step's completion in runs.ts, a policy sync in secrets.ts). The
// trigger serialises writers on the chain's head row, so concurrent writers never fork the chain.
import type pg from 'pg';
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

/** A row with its links in the chain: for verify and for export to a SIEM. */
export interface ChainedAuditRow extends AuditRow {
  /** The hash of the row before it; null for the first row of the database. */
  prevHash: string | null;
  hash: string;
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

const CHAINED_COLUMNS = `id::int, at, actor, action, secret_id as "secretId", run_id as "runId", reason, detail,
  prev_hash as "prevHash", hash`;

/**
 * Every audit row at or after `since`, oldest first, in batches of `batch` (keyset pages on the id,
 * so a trail of any length is never held in memory): `rotor audit export`.
 */
export async function* auditRowsSince(db: Queryable, since: Date | undefined, batch = 1000): AsyncGenerator<ChainedAuditRow[]> {
  let after = 0;
  for (;;) {
    const r = await db.query<ChainedAuditRow>(
      `select ${CHAINED_COLUMNS} from audit where id > $1 and ($2::timestamptz is null or at >= $2) order by id limit $3`,
      [after, since ?? null, batch],
    );
    if (!r.rows.length) return;
    yield r.rows;
    after = r.rows[r.rows.length - 1]!.id;
    if (r.rows.length < batch) return;
  }
}

export interface ChainBreak {
  /** The first row that does not match; null when the rows are intact but the head is not. */
  id: number | null;
  problem: string;
}

export interface ChainVerdict {
  rows: number;
  lastId: number | null;
  broken: ChainBreak | null;
}

/**
 * Recomputes the chain from the first row (`rotor audit verify`): each row must link to the hash of
 * the row before it and hash to what it carries, and the head must be the last row. Reads one
 * snapshot (a repeatable-read, read-only transaction) in batches, so concurrent writers neither
 * disturb the check nor wait for it. Stops at the first row that does not match.
 */
export async function verifyAuditChain(pool: pg.Pool, batch = 1000): Promise<ChainVerdict> {
  const client = await pool.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    let rows = 0;
    let prev: { id: number; hash: string } | null = null;
    let after = 0;
    for (;;) {
      const r = await client.query<ChainedAuditRow & { expected: string }>(
        `select ${CHAINED_COLUMNS}, audit_row_hash(prev_hash, id, at, actor, action, secret_id, run_id, reason, detail) as expected
         from audit where id > $1 order by id limit $2`,
        [after, batch],
      );
      for (const row of r.rows) {
        const broken = checkLink(prev, row);
        if (broken) return { rows, lastId: prev?.id ?? null, broken };
        rows++;
        prev = { id: row.id, hash: row.hash };
      }
      if (r.rows.length < batch) break;
      after = r.rows[r.rows.length - 1]!.id;
    }
    const head = (
      await client.query<{ lastId: number | null; lastHash: string | null }>(
        'select last_id::int as "lastId", last_hash as "lastHash" from audit_chain',
      )
    ).rows[0];
    const lastId = prev?.id ?? null;
    if (!head) return { rows, lastId, broken: { id: null, problem: 'the chain head (table audit_chain) is missing' } };
    if (head.lastId !== lastId || head.lastHash !== (prev?.hash ?? null)) {
      return {
        rows,
        lastId,
        broken: {
          id: null,
          problem: `the chain's head is row ${head.lastId ?? 'none'} but the last row is ${lastId ?? 'none'}: rows after ${lastId ?? 'the start'} were deleted, or the head was changed`,
        },
      };
    }
    return { rows, lastId, broken: null };
  } finally {
    await client.query('rollback').catch(() => undefined);
    client.release();
  }
}

function checkLink(prev: { id: number; hash: string } | null, row: ChainedAuditRow & { expected: string }): ChainBreak | null {
  if (row.prevHash !== (prev?.hash ?? null)) {
    return {
      id: row.id,
      problem: prev
        ? `row ${row.id} does not link to row ${prev.id} before it: a row between them was deleted, or row ${prev.id} was rewritten with a new hash`
        : `row ${row.id} is the first row but links to an earlier one: the rows before it were deleted`,
    };
  }
  if (row.expected !== row.hash) {
    return { id: row.id, problem: `row ${row.id} does not match its hash: it was changed after it was written` };
  }
  return null;
}
