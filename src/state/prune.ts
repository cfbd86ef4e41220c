// Retention of run history: runs that ended before a cutoff go, with their steps and consumer
// confirmations. Each secret's newest run stays whatever its age (status and history show it), no
// active run is touched, and the audit trail is never pruned (it is append-only; its own retention
// is a matter for the database's owner). The pruning itself is audited.
import type pg from 'pg';
import { appendAudit } from './audit.js';
import { inTransaction } from './db.js';

export interface PruneOptions {
  cutoff: Date;
  actor: string;
  /** Count what would go, delete nothing. */
  dryRun: boolean;
}

export interface PruneResult {
  runs: number;
  steps: number;
  consumers: number;
}

const BATCH = 5_000;

/** Ended runs older than the cutoff that are not their secret's newest run. */
const CANDIDATES = `
  select r.id from runs r
   where r.state in ('done', 'needs-attention') and r.finished_at < $1
     and r.id <> (select n.id from runs n where n.secret_id = r.secret_id order by n.created_at desc, n.id desc limit 1)`;

export async function pruneRuns(pool: pg.Pool, opts: PruneOptions): Promise<PruneResult> {
  if (opts.dryRun) {
    const r = await pool.query<PruneResult>(
      `with c as (${CANDIDATES})
       select (select count(*) from c)::int as runs,
              (select count(*) from steps where run_id in (select id from c))::int as steps,
              (select count(*) from run_consumers where run_id in (select id from c))::int as consumers`,
      [opts.cutoff],
    );
    return r.rows[0]!;
  }
  const total: PruneResult = { runs: 0, steps: 0, consumers: 0 };
  for (;;) {
    const batch = await inTransaction(pool, async (c) => {
      const ids = (await c.query<{ id: string }>(`${CANDIDATES} limit ${BATCH}`, [opts.cutoff])).rows.map((r) => r.id);
      if (!ids.length) return 0;
      total.consumers += (await c.query('delete from run_consumers where run_id = any($1::uuid[])', [ids])).rowCount ?? 0;
      total.steps += (await c.query('delete from steps where run_id = any($1::uuid[])', [ids])).rowCount ?? 0;
      total.runs +=
        (await c.query(`delete from runs where id = any($1::uuid[]) and state in ('done', 'needs-attention')`, [ids])).rowCount ?? 0;
      return ids.length;
    });
    if (batch < BATCH) break;
  }
  await appendAudit(pool, {
    actor: opts.actor,
    action: 'runs.pruned',
    reason: `ended before ${opts.cutoff.toISOString()}`,
    detail: { ...total },
  });
  return total;
}
