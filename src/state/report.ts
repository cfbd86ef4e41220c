// The compliance report's rows (`rotor report`): per active secret, its cadence, the age of its
// CURRENT credential, its last rotation (a run or a person's attestation), overdue days, failed
// runs in the period and how many consumers confirmed its last run.
import type { ResolvedSecret } from '../policy/types.js';
import type { Queryable } from './db.js';

export interface ReportRow {
  id: string;
  policy: ResolvedSecret;
  lastSuccessAt: Date | null;
  nextDueAt: Date | null;
  overdueSince: Date | null;
  /**
   * The last rotation: when, by whom, how (`schedule`, `manual`, `emergency` or `attested`: a
   * person's, recorded by `rotor attest` with or without the new value).
   */
  lastAt: Date | null;
  lastActor: string | null;
  lastTrigger: string | null;
  failures: number;
  consumersConfirmed: number;
  consumersTotal: number;
}

export async function reportRows(
  db: Queryable,
  q: { since: Date; owner?: string | undefined; className?: string | undefined },
): Promise<ReportRow[]> {
  const r = await db.query<ReportRow>(
    `select s.id, s.policy, s.last_success_at as "lastSuccessAt", s.next_due_at as "nextDueAt", s.overdue_since as "overdueSince",
       case when a.at is not null and (lr.finished_at is null or a.at > lr.finished_at) then a.at else lr.finished_at end as "lastAt",
       case when a.at is not null and (lr.finished_at is null or a.at > lr.finished_at) then a.actor else lr.actor end as "lastActor",
       -- A run of rotor attest --value-stdin is a person's rotation too: attested, as one without a value.
       case when (a.at is not null and (lr.finished_at is null or a.at > lr.finished_at)) or lr.trigger = 'attest' then 'attested'
            else lr.trigger end as "lastTrigger",
       (select count(*) from runs f where f.secret_id = s.id and f.state = 'needs-attention' and f.created_at >= $1)::int as failures,
       (select count(*) from run_consumers c where c.run_id = lr.id and c.confirmed_at is not null)::int as "consumersConfirmed",
       (select count(*) from run_consumers c where c.run_id = lr.id)::int as "consumersTotal"
     from secrets s
     left join lateral (select id, finished_at, actor, trigger from runs r where r.secret_id = s.id and r.state = 'done'
                        order by finished_at desc limit 1) lr on true
     left join lateral (select at, actor from audit x where x.secret_id = s.id and x.action = 'secret.attested'
                        order by id desc limit 1) a on true
     where s.status = 'active' and ($2::text is null or s.policy->>'owner' = $2) and ($3::text is null or s.policy->>'className' = $3)
     order by s.id`,
    [q.since, q.owner ?? null, q.className ?? null],
  );
  return r.rows;
}
