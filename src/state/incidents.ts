// Incidents: the record of one `rotor incident start`, its secrets in plan order, and the link of
// each secret to the emergency run that rotated it. The orchestration is src/engine/incident.ts.
import type pg from 'pg';
import { appendAudit, type AuditRow } from './audit.js';
import { inTransaction, type Queryable } from './db.js';
import type { RunState } from './run-states.js';
import type { RunOutcome } from './runs.js';

export type IncidentState = 'running' | 'aborting' | 'done' | 'aborted';

/** What an incident selects: secrets matching any of these (a union). */
export interface IncidentSelection {
  tags: string[];
  owners: string[];
  classes: string[];
  targets: string[];
  consumers: string[];
  ids: string[];
}

export interface IncidentRow {
  id: string;
  actor: string;
  reason: string;
  selection: IncidentSelection;
  perTarget: number;
  /** Its runs start inside freeze windows (`--override-freeze`), each audited. */
  overrideFreeze: boolean;
  state: IncidentState;
  startedAt: Date;
  endedAt: Date | null;
}

/** One secret of an incident, with its run as it stands (null fields before it was started). */
export interface IncidentItem {
  secretId: string;
  position: number;
  targetKey: string;
  dependsOn: string[];
  runId: string | null;
  skipped: string | null;
  runState: RunState | null;
  runStep: string | null;
  runOutcome: RunOutcome | null;
  runError: string | null;
  runCreatedAt: Date | null;
  runFinishedAt: Date | null;
}

export interface NewIncident {
  id: string;
  actor: string;
  reason: string;
  selection: IncidentSelection;
  perTarget: number;
  overrideFreeze?: boolean;
  items: Array<Pick<IncidentItem, 'secretId' | 'position' | 'targetKey' | 'dependsOn'>>;
}

const INCIDENT_COLUMNS = `id, actor, reason, selection, per_target as "perTarget", override_freeze as "overrideFreeze", state, started_at as "startedAt", ended_at as "endedAt"`;

/** Thrown by linkIncidentRun when the secret was started already (or skipped): its run is rolled back. */
export class IncidentItemTakenError extends Error {
  override name = 'IncidentItemTakenError';
  constructor(
    readonly incidentId: string,
    readonly secretId: string,
  ) {
    super(`secret ${secretId} of incident ${incidentId} was started already`);
  }
}

/** The incident, its secrets and its `incident.started` audit row, in one transaction. */
export async function createIncident(pool: pg.Pool, inc: NewIncident): Promise<IncidentRow> {
  return inTransaction(pool, async (client) => {
    const r = await client.query<IncidentRow>(
      `insert into incidents (id, actor, reason, selection, per_target, override_freeze) values ($1, $2, $3, $4, $5, $6)
       returning ${INCIDENT_COLUMNS}`,
      [inc.id, inc.actor, inc.reason, JSON.stringify(inc.selection), inc.perTarget, inc.overrideFreeze === true],
    );
    await client.query(
      `insert into incident_secrets (incident_id, secret_id, position, target_key, depends_on)
       select $1, x.s, x.p, x.t, array(select jsonb_array_elements_text(x.d))
       from jsonb_to_recordset($2::jsonb) as x(s text, p int, t text, d jsonb)`,
      [inc.id, JSON.stringify(inc.items.map((i) => ({ s: i.secretId, p: i.position, t: i.targetKey, d: i.dependsOn })))],
    );
    await appendAudit(client, {
      actor: inc.actor,
      action: 'incident.started',
      reason: inc.reason,
      detail: {
        incidentId: inc.id,
        secrets: inc.items.length,
        perTarget: inc.perTarget,
        selection: inc.selection,
        ...(inc.overrideFreeze ? { overrideFreeze: true } : {}),
      },
    });
    return r.rows[0]!;
  });
}

export async function getIncident(db: Queryable, id: string): Promise<IncidentRow | null> {
  const r = await db.query<IncidentRow>(`select ${INCIDENT_COLUMNS} from incidents where id = $1`, [id]);
  return r.rows[0] ?? null;
}

/** Newest first. */
export async function listIncidents(db: Queryable, limit = 20): Promise<IncidentRow[]> {
  const r = await db.query<IncidentRow>(`select ${INCIDENT_COLUMNS} from incidents order by started_at desc limit $1`, [limit]);
  return r.rows;
}

/** Incidents not ended yet: each needs a driver (src/engine/incident.ts). */
export async function unfinishedIncidents(db: Queryable): Promise<string[]> {
  const r = await db.query<{ id: string }>(`select id from incidents where state in ('running', 'aborting') order by started_at`);
  return r.rows.map((x) => x.id);
}

/** The incident's secrets in plan order, each with its run's state. */
export async function incidentItems(db: Queryable, incidentId: string): Promise<IncidentItem[]> {
  const r = await db.query<IncidentItem>(
    `select i.secret_id as "secretId", i.position, i.target_key as "targetKey", i.depends_on as "dependsOn", i.run_id as "runId",
       i.skipped, r.state as "runState", r.step as "runStep", r.outcome as "runOutcome", r.error as "runError",
       r.created_at as "runCreatedAt", r.finished_at as "runFinishedAt"
     from incident_secrets i left join runs r on r.id = i.run_id
     where i.incident_id = $1 order by i.position`,
    [incidentId],
  );
  return r.rows;
}

/**
 * Links the run just inserted to the secret of the incident, in the caller's transaction (createRun):
 * only a secret not started yet and not skipped takes it, otherwise IncidentItemTakenError rolls
 * the run back. This is what makes a restarted driver never start a secret twice.
 */
export async function linkIncidentRun(client: Queryable, incidentId: string, secretId: string, runId: string): Promise<void> {
  const r = await client.query(incidentLinkSql('$1', '$2', '$3'), [incidentId, secretId, runId]);
  if (r.rowCount !== 1) throw new IncidentItemTakenError(incidentId, secretId);
}

/**
 * The statement that links a run to its secret's row of an incident, with the placeholders given:
 * only a row neither started nor skipped takes it. linkIncidentRun runs it; createRun makes it part
 * of the statement that inserts the run.
 */
export function incidentLinkSql(incidentId: string, secretId: string, runId: string): string {
  return `update incident_secrets set run_id = ${runId}
          where incident_id = ${incidentId} and secret_id = ${secretId} and run_id is null and skipped is null`;
}

/** Marks secrets that will not be started, with why. Secrets started meanwhile keep their run. */
export async function skipIncidentSecrets(db: Queryable, incidentId: string, secretIds: readonly string[], why: string): Promise<void> {
  if (!secretIds.length) return;
  await db.query(
    `update incident_secrets set skipped = $3 where incident_id = $1 and secret_id = any($2::text[]) and run_id is null and skipped is null`,
    [incidentId, secretIds, why],
  );
}

/** Asks a running incident to stop starting runs; false when it was not running. Audited. */
export async function requestIncidentAbort(pool: pg.Pool, incidentId: string, actor: string, reason: string | null): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    const r = await client.query(`update incidents set state = 'aborting' where id = $1 and state = 'running'`, [incidentId]);
    if (r.rowCount !== 1) return false;
    await appendAudit(client, { actor, action: 'incident.aborted', reason, detail: { incidentId } });
    return true;
  });
}

/** Ends the incident (done, or aborted when an abort was asked for), with its `incident.ended` row. */
export async function endIncident(
  pool: pg.Pool,
  incidentId: string,
  actor: string,
  counts: Record<string, number>,
): Promise<IncidentState | null> {
  return inTransaction(pool, async (client) => {
    const r = await client.query<{ state: IncidentState }>(
      `update incidents set state = case when state = 'aborting' then 'aborted' else 'done' end, ended_at = now()
       where id = $1 and state in ('running', 'aborting') returning state`,
      [incidentId],
    );
    const state = r.rows[0]?.state ?? null;
    if (state) await appendAudit(client, { actor, action: 'incident.ended', detail: { incidentId, state, ...counts } });
    return state;
  });
}

/**
 * Median wall time of the recent finished runs (started to finished) of these secrets, else of any
 * secret; null when none has run yet. For an incident plan's estimate.
 */
export async function recentRunMs(db: Queryable, secretIds: readonly string[]): Promise<number | null> {
  const r = await db.query<{ ms: number | null }>(
    `select coalesce(
       (select percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at) * 1000)
        from (select finished_at, started_at from runs where secret_id = any($1::text[]) and state = 'done' and started_at is not null
              order by finished_at desc limit 200) a),
       (select percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at) * 1000)
        from (select finished_at, started_at from runs where state = 'done' and started_at is not null order by finished_at desc limit 200) b)
     )::float8 as ms`,
    [secretIds],
  );
  return r.rows[0]?.ms ?? null;
}

/** The incident's audit rows, newest first: its own (incident.*) and those of its runs. */
export async function incidentAudit(db: Queryable, incidentId: string, limit = 200): Promise<AuditRow[]> {
  const r = await db.query<AuditRow>(
    `select id::int, at, actor, action, secret_id as "secretId", run_id as "runId", reason, detail from audit
     where (action like 'incident.%' and detail ->> 'incidentId' = $1)
        or run_id in (select run_id from incident_secrets where incident_id = $1::uuid and run_id is not null)
     order by id desc limit $2`,
    [incidentId, limit],
  );
  return r.rows;
}
