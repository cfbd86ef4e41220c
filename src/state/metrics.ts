// The numbers /metrics exposes that only the state database knows: runs by trigger and result,
// durations of ended runs bucketed in SQL, and each active secret's last success.
import type { Queryable } from './db.js';

export interface RunResultCount {
  trigger: string;
  /** The outcome of an ended run (rotated, discarded, ...), or the state of one in progress. */
  result: string;
  ended: boolean;
  count: number;
}

export interface RunDurationBuckets {
  trigger: string;
  /** Cumulative counts, one per bound of `bounds`, in the same order. */
  buckets: number[];
  sumSeconds: number;
  count: number;
}

export interface LastSuccess {
  secretId: string;
  secondsSince: number;
  at: Date;
}

export async function runResultCounts(db: Queryable): Promise<RunResultCount[]> {
  const r = await db.query<{ trigger: string; result: string; ended: boolean; n: number }>(
    `select trigger, coalesce(outcome, state) as result, state in ('done', 'needs-attention') as ended, count(*)::int as n
     from runs group by 1, 2, 3 order by 1, 2`,
  );
  return r.rows.map((row) => ({ trigger: row.trigger, result: row.result, ended: row.ended, count: row.n }));
}

/** Bucketed in SQL, so a scrape costs one aggregate however many runs there were. */
export async function runDurationBuckets(db: Queryable, bounds: readonly number[]): Promise<RunDurationBuckets[]> {
  const r = await db.query<{ trigger: string; buckets: number[]; sum: number; n: number }>(
    `with d as (select trigger, extract(epoch from finished_at - created_at)::float8 as d from runs where finished_at is not null),
     b as (
       select trigger, array_agg(n order by i) as buckets
       from (select d.trigger, u.i, (count(*) filter (where d.d <= u.b))::int as n
             from d cross join unnest($1::float8[]) with ordinality as u(b, i) group by 1, 2) per_bound
       group by trigger
     )
     select s.trigger, b.buckets, s.sum, s.n
     from (select trigger, coalesce(sum(d), 0)::float8 as sum, count(*)::int as n from d group by trigger) s join b using (trigger)
     order by s.trigger`,
    [bounds],
  );
  return r.rows.map((row) => ({ trigger: row.trigger, buckets: row.buckets, sumSeconds: row.sum, count: row.n }));
}

export async function lastSuccesses(db: Queryable, now: Date): Promise<LastSuccess[]> {
  const r = await db.query<{ id: string; s: number; at: Date }>(
    `select id, extract(epoch from $1::timestamptz - last_success_at)::float8 as s, last_success_at as at
     from secrets where status = 'active' and last_success_at is not null order by id`,
    [now],
  );
  return r.rows.map((row) => ({ secretId: row.id, secondsSince: row.s, at: row.at }));
}
