// run_consumers: each consumer's part in a run (notified, confirmed, the version it reported, its
// last error), written by the distribute and verify-consumers steps and read by status and pages.
// A rollback keeps marks of its own (told the old version again, confirmed it, its last error), so
// what the consumer did with the new version stays on record.
import type { Queryable } from './db.js';

/** Which notice a mark is about: the run's new version, or the old one a rollback made CURRENT again. */
export type ConsumerPhase = 'new' | 'rollback';

const COLUMNS: Readonly<Record<ConsumerPhase, { notified: string; confirmed: string; error: string }>> = {
  new: { notified: 'notified_at', confirmed: 'confirmed_at', error: 'last_error' },
  rollback: { notified: 'rollback_notified_at', confirmed: 'rollback_confirmed_at', error: 'rollback_error' },
};

export interface ConsumerMark {
  consumer: string;
  notifiedAt: Date | null;
  confirmedAt: Date | null;
}

/**
 * The rows of one wave of a run, created on first sight (a pass that resumes after a crash finds
 * the marks of the pass before it), by consumer name. One statement: the rows it inserts come from
 * the insert, the rows that were there from the table (the statement's snapshot predates its insert,
 * so none is read twice).
 */
export async function waveConsumers(
  db: Queryable,
  runId: string,
  wave: number,
  names: readonly string[],
  phase: ConsumerPhase = 'new',
): Promise<Map<string, ConsumerMark>> {
  const col = COLUMNS[phase];
  const r = await db.query<ConsumerMark>(
    `with made as (insert into run_consumers (run_id, consumer, wave) select $1, c, $3 from unnest($2::text[]) as c
                   on conflict do nothing returning consumer, ${col.notified}, ${col.confirmed})
     select consumer, ${col.notified} as "notifiedAt", ${col.confirmed} as "confirmedAt" from made
     union all
     select consumer, ${col.notified}, ${col.confirmed} from run_consumers where run_id = $1 and wave = $3`,
    [runId, names, wave],
  );
  return new Map(r.rows.map((row) => [row.consumer, row]));
}

/** Marks the consumer told in this phase; returns when, as the database recorded it. */
export async function markNotified(db: Queryable, runId: string, consumer: string, phase: ConsumerPhase = 'new'): Promise<Date> {
  const col = COLUMNS[phase].notified;
  const r = await db.query<{ at: Date }>(
    `update run_consumers set ${col} = now() where run_id = $1 and consumer = $2 returning ${col} as at`,
    [runId, consumer],
  );
  return r.rows[0]?.at ?? new Date();
}

/** The consumer reports the version the phase is about: the new one (kept as confirmed_version), or the old one again. */
export async function markConfirmed(
  db: Queryable,
  runId: string,
  consumer: string,
  version: string,
  phase: ConsumerPhase = 'new',
): Promise<void> {
  if (phase === 'rollback') {
    await db.query('update run_consumers set rollback_confirmed_at = now(), rollback_error = null where run_id = $1 and consumer = $2', [
      runId,
      consumer,
    ]);
    return;
  }
  await db.query(
    `update run_consumers set confirmed_at = now(), confirmed_version = $3, last_error = null
     where run_id = $1 and consumer = $2`,
    [runId, consumer, version],
  );
}

/** Why the consumer is not confirmed yet: its error, or the version it reports instead. */
export async function recordConsumerError(
  db: Queryable,
  runId: string,
  consumer: string,
  error: string,
  phase: ConsumerPhase = 'new',
): Promise<void> {
  await db.query(`update run_consumers set ${COLUMNS[phase].error} = $3 where run_id = $1 and consumer = $2`, [runId, consumer, error]);
}

/** One consumer's part in a run: when it was told, when it confirmed, and how long after promote. */
export interface ConsumerStaleness {
  consumer: string;
  wave: number;
  notifiedAt: Date | null;
  confirmedAt: Date | null;
  /** The version it confirmed; null while unconfirmed. */
  confirmedVersion: string | null;
  /** confirmed_at - promoted_at in milliseconds; null while unconfirmed. */
  confirmedAfterMs: number | null;
  lastError: string | null;
  /** A rollback told it the old version again at; null when the run did not roll back (or not yet). */
  rollbackNotifiedAt: Date | null;
  /** When it confirmed the old version in a rollback; null while it has not. */
  rollbackConfirmedAt: Date | null;
  /** Why it has not confirmed the old version yet. */
  rollbackError: string | null;
}

/** Every consumer of a run, wave by wave: `rotor status <id>`, `rotor history` and the run page. */
export async function runConsumers(db: Queryable, runId: string): Promise<ConsumerStaleness[]> {
  const r = await db.query<ConsumerStaleness>(
    `select c.consumer, c.wave, c.notified_at as "notifiedAt", c.confirmed_at as "confirmedAt",
       c.confirmed_version as "confirmedVersion",
       (extract(epoch from (c.confirmed_at - r.promoted_at)) * 1000)::float8 as "confirmedAfterMs",
       c.last_error as "lastError", c.rollback_notified_at as "rollbackNotifiedAt",
       c.rollback_confirmed_at as "rollbackConfirmedAt", c.rollback_error as "rollbackError"
     from run_consumers c join runs r on r.id = c.run_id where c.run_id = $1 order by c.wave, c.consumer`,
    [runId],
  );
  return r.rows;
}
