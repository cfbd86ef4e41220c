// The checks that read the record after a chaos run: the audit trail against the runs and steps,
// the order of effects around every revoke, and the evidence kept for runs that broke a rule.
import type pg from 'pg';
import type { CheckerDeps, FinalFigures, Violation } from './checker.js';

/** What the record says about the runs a violation names (the state database is gone after the run). */
export async function evidenceFor(pool: pg.Pool, list: readonly Violation[]): Promise<Array<Record<string, unknown>>> {
  const ids = new Set<string>();
  for (const x of list) for (const m of x.detail.matchAll(/\brun ([0-9a-f-]{36})\b/g)) ids.add(m[1]!);
  const out: Array<Record<string, unknown>> = [];
  for (const id of [...ids].slice(0, 25)) {
    const run = (await pool.query('select * from runs where id = $1', [id])).rows[0];
    const steps = (
      await pool.query('select step, attempt, status, started_at, finished_at, error from steps where run_id = $1 order by id', [id])
    ).rows;
    const consumers = (
      await pool.query('select consumer, notified_at, confirmed_at, confirmed_version, last_error from run_consumers where run_id = $1', [
        id,
      ])
    ).rows;
    const audit = (await pool.query('select at, actor, action, reason from audit where run_id = $1 order by id', [id])).rows;
    out.push({ run, steps, consumers, audit });
  }
  return out;
}

export async function auditChecks(d: CheckerDeps, figures: FinalFigures): Promise<void> {
  const { pool, v } = d;
  figures.auditRows = (await pool.query<{ n: number }>('select count(*)::int as n from audit')).rows[0]!.n;
  const missing = async (sql: string, what: (r: { id: string; secret_id: string; extra?: string }) => string) => {
    for (const r of (await pool.query<{ id: string; secret_id: string; extra?: string }>(sql)).rows) v.add('audit-complete', what(r));
  };
  await missing(
    "select r.id, r.secret_id from runs r where not exists (select 1 from audit a where a.run_id = r.id and a.action = 'run.requested')",
    (r) => `run ${r.id} of ${r.secret_id} has no run.requested audit row`,
  );
  await missing(
    `select r.id, r.secret_id, r.state as extra from runs r where r.state in ('done', 'needs-attention')
       and (select count(*) from audit a where a.run_id = r.id
            and a.action = case r.state when 'done' then 'run.done' else 'run.needs-attention' end) <> 1`,
    (r) => `run ${r.id} of ${r.secret_id} ended ${r.extra} but has no single matching terminal audit row`,
  );
  await missing(
    `select distinct s.run_id as id, r.secret_id, s.step as extra from steps s join runs r on r.id = s.run_id
     where s.status = 'succeeded' and s.step not in ('discard', 'rollback')
       and not exists (select 1 from audit a where a.run_id = s.run_id
                       and a.action = case s.step when 'finish' then 'run.done' else 'step.' || s.step end)`,
    (r) => `run ${r.id} of ${r.secret_id}: step ${r.extra} succeeded with no audit row`,
  );
  await missing(
    `select distinct s.run_id as id, r.secret_id, s.step as extra from steps s join runs r on r.id = s.run_id
     where s.step in ('discard', 'rollback')
       and not exists (select 1 from audit a where a.run_id = s.run_id and a.action = 'run.' || s.step)`,
    (r) => `run ${r.id} of ${r.secret_id} went to ${r.extra} with no run.${r.extra} audit row`,
  );
  await missing(
    "select s.id, s.id as secret_id from secrets s where not exists (select 1 from audit a where a.secret_id = s.id and a.action = 'secret.added')",
    (r) => `secret ${r.id} has no secret.added audit row`,
  );
}

/**
 * The order of effects, from the record: a revoke starts only after grace and after every consumer
 * confirmed; and at that moment no consumer client still held the credential it revoked (the
 * clients' own log of which version they used when, on the same clock).
 */
export async function revokeOrderChecks(d: CheckerDeps): Promise<void> {
  const { pool, v, clients } = d;
  const early = await pool.query<{ id: string; secret_id: string; why: string }>(
    `select r.id, r.secret_id, case when min(s.started_at) < r.grace_until then 'before grace ended' else 'before every consumer confirmed' end as why
     from runs r join steps s on s.run_id = r.id and s.step = 'revoke'
     where r.old_version is not null
     group by r.id
     having min(s.started_at) < r.grace_until
        or min(s.started_at) < (select max(coalesce(c.confirmed_at, 'infinity')) from run_consumers c where c.run_id = r.id)`,
  );
  for (const r of early.rows) v.add('no-revoke-in-use', `run ${r.id} of ${r.secret_id} started revoking ${r.why}`);
  const revokes = await pool.query<{ id: string; secret_id: string; version: string; at: Date; kind: string }>(
    `select r.id, r.secret_id, r.old_version as version, min(s.started_at) as at, 'revoke' as kind
       from runs r join steps s on s.run_id = r.id and s.step = 'revoke' where r.old_version is not null group by r.id
     union all
     select r.id, r.secret_id, r.new_version as version, max(s.finished_at) as at, 'rollback' as kind
       from runs r join steps s on s.run_id = r.id and s.step = 'rollback' and s.status = 'succeeded' group by r.id`,
  );
  for (const r of revokes.rows) {
    const at = r.at.getTime();
    for (const h of clients.holdings(r.secret_id)) {
      if (h.versionId === r.version && h.from <= at && (h.until ?? Infinity) > at) {
        v.add(
          'no-revoke-in-use',
          `run ${r.id} of ${r.secret_id}: ${r.kind} of version ${r.version} at ${r.at.toISOString()} while the consumer still used it (since ${new Date(h.from).toISOString()})`,
        );
      }
    }
  }
}

/** A reason without ids, roles, numbers: runs that failed the same way fall into one bucket. */
export function normalizeReason(error: string): string {
  return error
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-\d+)?/g, '<id>')
    .replace(/chaos\/(alt|single)-\d+/g, '<secret>')
    .replace(/\bc\d+_[abgu]\b/g, '<role>')
    .replace(/\d+/g, 'N')
    .split(' (')[0]!
    .slice(0, 180);
}
