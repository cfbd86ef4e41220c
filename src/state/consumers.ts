// run_consumers: each consumer's part in a run (notified, confirmed, the version it reported, its
// last error), written by the distribute and verify-consumers steps and read by status and pages.
import type { Queryable } from './db.js';

export interface ConsumerMark {
  consumer: string;
  notifiedAt: Date | null;
  confirmedAt: Date | null;
}

/**
 * The rows of one wave of a run, created on first sight (a pass that resumes after a crash finds
 * the marks of the pass before it), by consumer name.
 */
export async function waveConsumers(
  db: Queryable,
  runId: string,
  wave: number,
  names: readonly string[],
): Promise<Map<string, ConsumerMark>> {
  await db.query(
    `insert into run_consumers (run_id, consumer, wave) select $1, c, $3 from unnest($2::text[]) as c
     on conflict do nothing`,
    [runId, names, wave],
  );
  const r = await db.query<ConsumerMark>(
    `select consumer, notified_at as "notifiedAt", confirmed_at as "confirmedAt" from run_consumers
     where run_id = $1 and wave = $2`,
    [runId, wave],
  );
  return new Map(r.rows.map((row) => [row.consumer, row]));
}

export async function markNotified(db: Queryable, runId: string, consumer: string): Promise<void> {
  await db.query('update run_consumers set notified_at = now() where run_id = $1 and consumer = $2', [runId, consumer]);
}

export async function markConfirmed(db: Queryable, runId: string, consumer: string, version: string): Promise<void> {
  await db.query(
    `update run_consumers set confirmed_at = now(), confirmed_version = $3, last_error = null
     where run_id = $1 and consumer = $2`,
    [runId, consumer, version],
  );
}

/** Why the consumer is not confirmed yet: its error, or the version it reports instead. */
export async function recordConsumerError(db: Queryable, runId: string, consumer: string, error: string): Promise<void> {
  await db.query('update run_consumers set last_error = $3 where run_id = $1 and consumer = $2', [runId, consumer, error]);
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
}

/** Every consumer of a run, wave by wave: `rotor status <id>`, `rotor history` and the run page. */
export async function runConsumers(db: Queryable, runId: string): Promise<ConsumerStaleness[]> {
  const r = await db.query<ConsumerStaleness>(
    `select c.consumer, c.wave, c.notified_at as "notifiedAt", c.confirmed_at as "confirmedAt",
       c.confirmed_version as "confirmedVersion",
       (extract(epoch from (c.confirmed_at - r.promoted_at)) * 1000)::float8 as "confirmedAfterMs",
       c.last_error as "lastError"
     from run_consumers c join runs r on r.id = c.run_id where c.run_id = $1 order by c.wave, c.consumer`,
    [runId],
  );
  return r.rows;
}
