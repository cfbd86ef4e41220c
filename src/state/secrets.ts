// The secrets table: synced from policies (added, changed, retired; never deleted), the
// due-date queries the scheduler runs every tick, and the lookups of plan and a bare worker.
import type pg from 'pg';
import type { ResolvedSecret } from '../policy/types.js';
import { appendAudit } from './audit.js';
import { inTransaction, type Queryable } from './db.js';
import { ACTIVE_IN } from './run-states.js';

export interface SecretRow {
  id: string;
  policy: ResolvedSecret;
  policyHash: string;
  targetKey: string;
  status: 'active' | 'retired';
  lastSuccessAt: Date | null;
  lastRunId: string | null;
  nextDueAt: Date | null;
  overdueSince: Date | null;
  retiredAt: Date | null;
}

const SECRET_COLUMNS = `id, policy, policy_hash as "policyHash", target_key as "targetKey", status,
  last_success_at as "lastSuccessAt", last_run_id as "lastRunId", next_due_at as "nextDueAt",
  overdue_since as "overdueSince", retired_at as "retiredAt"`;

export async function getSecret(db: Queryable, id: string): Promise<SecretRow | null> {
  const r = await db.query<SecretRow>(`select ${SECRET_COLUMNS} from secrets where id = $1`, [id]);
  return r.rows[0] ?? null;
}

export async function listSecrets(db: Queryable, opts: { includeRetired?: boolean } = {}): Promise<SecretRow[]> {
  const r = await db.query<SecretRow>(
    `select ${SECRET_COLUMNS} from secrets ${opts.includeRetired ? '' : "where status = 'active'"} order by id`,
  );
  return r.rows;
}

export interface SyncDiff {
  added: string[];
  changed: string[];
  retired: string[];
  /** Previously retired secrets that are back in the policies. */
  restored: string[];
  unchanged: number;
}

interface ExistingRow {
  id: string;
  hash: string;
  status: string;
  lastSuccessAt: Date | null;
}

async function loadExisting(db: Queryable): Promise<Map<string, ExistingRow>> {
  const r = await db.query<ExistingRow>('select id, policy_hash as hash, status, last_success_at as "lastSuccessAt" from secrets');
  return new Map(r.rows.map((row) => [row.id, row]));
}

function diffAgainst(existing: Map<string, ExistingRow>, secrets: readonly ResolvedSecret[]): SyncDiff {
  const diff: SyncDiff = { added: [], changed: [], retired: [], restored: [], unchanged: 0 };
  const seen = new Set<string>();
  for (const s of secrets) {
    seen.add(s.id);
    const row = existing.get(s.id);
    if (!row) diff.added.push(s.id);
    else if (row.status === 'retired') diff.restored.push(s.id);
    else if (row.hash !== s.hash) diff.changed.push(s.id);
    else diff.unchanged++;
  }
  for (const row of existing.values()) if (!seen.has(row.id) && row.status === 'active') diff.retired.push(row.id);
  return diff;
}

/** What a sync would change, without changing anything (`rotor plan`). */
export async function computeSyncDiff(db: Queryable, secrets: readonly ResolvedSecret[]): Promise<SyncDiff> {
  return diffAgainst(await loadExisting(db), secrets);
}

export interface SyncOptions {
  targetKeyOf(secret: ResolvedSecret): string;
  nextDueOf(secret: ResolvedSecret, lastSuccessAt: Date | null): Date;
  actor: string;
}

const BATCH = 5000;

/**
 * Brings the secrets table in line with the policies in one transaction, in batches, and appends
 * one audit row per added, changed, restored or retired secret.
 */
export async function syncSecrets(pool: pg.Pool, secrets: readonly ResolvedSecret[], opts: SyncOptions): Promise<SyncDiff> {
  return inTransaction(pool, async (client) => {
    // Serializes concurrent syncs (two `rotor start` at once) without blocking readers.
    await client.query('select pg_advisory_xact_lock(hashtext($1))', ['rotor-sync']);
    const existing = await loadExisting(client);
    const diff = diffAgainst(existing, secrets);
    const touched = new Set([...diff.added, ...diff.changed, ...diff.restored]);
    const upserts = secrets.filter((s) => touched.has(s.id));
    for (let i = 0; i < upserts.length; i += BATCH) {
      // One JSON document per batch, expanded by the server: far cheaper than jsonb[] parameters,
      // which node-postgres would escape again as an array literal.
      const batch = upserts.slice(i, i + BATCH).map((s) => ({
        id: s.id,
        policy: s,
        hash: s.hash,
        target: opts.targetKeyOf(s),
        due: opts.nextDueOf(s, existing.get(s.id)?.lastSuccessAt ?? null),
      }));
      await client.query(
        `insert into secrets (id, policy, policy_hash, target_key, next_due_at)
         select x->>'id', x->'policy', x->>'hash', x->>'target', (x->>'due')::timestamptz
         from jsonb_array_elements($1::jsonb) as x
         on conflict (id) do update set policy = excluded.policy, policy_hash = excluded.policy_hash,
           target_key = excluded.target_key, next_due_at = excluded.next_due_at, status = 'active',
           retired_at = null, updated_at = now()`,
        [JSON.stringify(batch)],
      );
    }
    if (diff.retired.length) {
      await client.query(
        `update secrets set status = 'retired', retired_at = now(), updated_at = now(), next_due_at = null
         where id = any($1::text[])`,
        [diff.retired],
      );
    }
    const auditRows: Array<[string, string]> = [
      ...diff.added.map((id): [string, string] => [id, 'secret.added']),
      ...diff.changed.map((id): [string, string] => [id, 'secret.changed']),
      ...diff.restored.map((id): [string, string] => [id, 'secret.restored']),
      ...diff.retired.map((id): [string, string] => [id, 'secret.retired']),
    ];
    for (let i = 0; i < auditRows.length; i += BATCH) {
      const chunk = auditRows.slice(i, i + BATCH);
      await client.query(
        `insert into audit (actor, action, secret_id, reason)
         select $1, a, s, 'policy sync' from unnest($2::text[], $3::text[]) as t(s, a)`,
        [opts.actor, chunk.map((r) => r[0]), chunk.map((r) => r[1])],
      );
    }
    return diff;
  });
}

export interface DueSecret {
  id: string;
  targetKey: string;
  nextDueAt: Date;
}

/** Active secrets due by `now` with no active run, oldest due first. Served by the secrets_due index. */
export async function findDueSecrets(db: Queryable, now: Date, limit: number): Promise<DueSecret[]> {
  const r = await db.query<DueSecret>(
    `select s.id, s.target_key as "targetKey", s.next_due_at as "nextDueAt" from secrets s
     where s.status = 'active' and s.next_due_at <= $1
       -- A manual secret is rotated by a person (rotor attest): it stays due, then overdue.
       and s.policy->'rotator'->>'name' is distinct from 'manual'
       and not exists (select 1 from runs r where r.secret_id = s.id and r.state in ${ACTIVE_IN})
     order by s.next_due_at limit $2`,
    [now, limit],
  );
  return r.rows;
}

/**
 * Marks secrets overdue when they have been due for longer than `graceMs` without a successful
 * run (the scheduler stopped, the run failed): the alert for "rotation silently stopped".
 */
export async function markOverdue(db: Queryable, now: Date, toleranceMs: number): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    // `next_due_at < cutoff` (not `next_due_at + tolerance < now`) so the secrets_due index serves it.
    `update secrets set overdue_since = next_due_at + make_interval(secs => $2::double precision / 1000)
     where status = 'active' and overdue_since is null
       and next_due_at < $1::timestamptz - make_interval(secs => $2::double precision / 1000)
     returning id`,
    [now, toleranceMs],
  );
  return r.rows.map((row) => row.id);
}

/** Records a successful rotation: resets the clock (manual and emergency runs included). */
export async function recordSuccess(db: Queryable, id: string, runId: string, at: Date, nextDueAt: Date): Promise<void> {
  await db.query(
    `update secrets set last_success_at = $2, last_run_id = $3, next_due_at = $4, overdue_since = null,
       updated_at = now() where id = $1`,
    [id, at, runId, nextDueAt],
  );
}

/**
 * After a run ends in needs-attention the scheduler must not start another one at the next tick
 * (a rotation loop at the secret level): the next automatic attempt waits `deferMs`. The secret
 * stays overdue and visible; an operator can rotate it by hand at any time.
 */
export async function deferAfterFailure(db: Queryable, id: string, deferMs: number): Promise<void> {
  await db.query(
    `update secrets set next_due_at = greatest(next_due_at, now() + make_interval(secs => $2::double precision / 1000)),
       updated_at = now() where id = $1`,
    [id, deferMs],
  );
}

/** The last successes of these secrets (those in the database): what `rotor plan` plans from. */
export async function lastSuccessesOf(db: Queryable, ids: readonly string[]): Promise<Map<string, { lastSuccessAt: Date | null }>> {
  const r = await db.query<{ id: string; lastSuccessAt: Date | null }>(
    'select id, last_success_at as "lastSuccessAt" from secrets where id = any($1::text[])',
    [ids],
  );
  return new Map(r.rows.map((row) => [row.id, { lastSuccessAt: row.lastSuccessAt }]));
}

/** The rotators the active secrets use: what a worker without policies (`rotor worker`) loads. */
export async function rotatorsInUse(db: Queryable): Promise<string[]> {
  const r = await db.query<{ name: string }>("select distinct policy->'rotator'->>'name' as name from secrets where status = 'active'");
  return r.rows.map((row) => row.name);
}

/**
 * Records a rotation a person did (`rotor attest`, manual secrets): the clock resets as after a
 * successful run, and the audit trail says who and why, in one transaction.
 */
export async function recordAttestation(
  pool: pg.Pool,
  id: string,
  a: { actor: string; reason: string; at: Date; nextDueAt: Date },
): Promise<void> {
  await inTransaction(pool, async (c) => {
    await c.query(`update secrets set last_success_at = $2, next_due_at = $3, overdue_since = null, updated_at = now() where id = $1`, [
      id,
      a.at,
      a.nextDueAt,
    ]);
    await appendAudit(c, {
      actor: a.actor,
      action: 'secret.attested',
      secretId: id,
      reason: a.reason,
      detail: { nextDueAt: a.nextDueAt.toISOString() },
    });
  });
}
