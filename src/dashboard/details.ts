// What the secret, run, audit and queue pages show, read from the state database, the store's
// version metadata (never a value) and the queues.
import type { QueueKit } from '../queue/backend.js';
import { EMERGENCY_QUEUE, RUNS_QUEUE, TICK_QUEUE } from '../queue/names.js';
import { scrub } from '../redact.js';
import type { Queryable } from '../state/db.js';
import { getRun, listRuns, listSteps, type RunRow, type StepRow } from '../state/runs.js';
import { getSecret } from '../state/secrets.js';
import type { SecretStore, VersionInfo } from '../store/contract.js';
import type { ResolvedSecret } from '../policy/types.js';
import { inventoryItem, type InventoryItem } from '../state/inventory.js';
import type { StatusRules } from '../state/status.js';

/** Only `describe` is ever called: the dashboard has no use for a value. */
export type VersionSource = Record<string, Pick<SecretStore, 'describe'>>;

export interface SecretDetail {
  item: InventoryItem;
  policy: ResolvedSecret;
  retiredAt: Date | null;
  versions: VersionInfo[] | null;
  /** Why versions could not be read (store not configured here, store unreachable). */
  versionsError: string | null;
  runs: RunRow[];
}

export async function secretDetail(db: Queryable, stores: VersionSource, id: string, rules: StatusRules): Promise<SecretDetail | null> {
  const [row, item, runs] = await Promise.all([getSecret(db, id), inventoryItem(db, id, rules), listRuns(db, id, 50)]);
  if (!row || !item) return null;
  let versions: VersionInfo[] | null = null;
  let versionsError: string | null = null;
  const store = stores[row.policy.store.backend];
  if (!store) versionsError = `the ${row.policy.store.backend} store is not configured in this rotor`;
  else {
    try {
      versions = await store.describe(row.policy.store.location);
    } catch (err) {
      versionsError = scrub((err as Error).message);
    }
  }
  return { item, policy: row.policy, retiredAt: row.retiredAt, versions, versionsError, runs };
}

export interface ConsumerConfirmation {
  consumer: string;
  wave: number;
  notifiedAt: Date | null;
  confirmedAt: Date | null;
  confirmedVersion: string | null;
  lastError: string | null;
}

export interface RunDetail {
  run: RunRow;
  steps: StepRow[];
  consumers: ConsumerConfirmation[];
  audit: Array<{ id: number; at: Date; actor: string; action: string; reason: string | null }>;
}

export async function runDetail(db: Queryable, id: string): Promise<RunDetail | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [run, steps, consumers, audit] = await Promise.all([
    getRun(db, id),
    listSteps(db, id),
    db.query<ConsumerConfirmation>(
      `select consumer, wave, notified_at as "notifiedAt", confirmed_at as "confirmedAt",
         confirmed_version as "confirmedVersion", last_error as "lastError"
       from run_consumers where run_id = $1 order by wave, consumer`,
      [id],
    ),
    db.query<RunDetail['audit'][number]>(
      'select id::int, at, actor, action, reason from audit where run_id = $1 order by id',
      [id],
    ),
  ]);
  if (!run) return null;
  return { run, steps, consumers: consumers.rows, audit: audit.rows };
}

export interface AuditFilter {
  secretId?: string | undefined;
  runId?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  /** Rows with a smaller id than this (the next page, newest first). */
  before?: number | undefined;
  /** @defaultValue 100 */
  limit?: number | undefined;
}

export interface AuditEntryView {
  id: number;
  at: Date;
  actor: string;
  action: string;
  secretId: string | null;
  runId: string | null;
  reason: string | null;
  detail: Record<string, unknown> | null;
}

export async function auditPage(db: Queryable, f: AuditFilter): Promise<{ rows: AuditEntryView[]; nextBefore: number | null }> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.secretId) where.push(`secret_id = $${args.push(f.secretId)}`);
  if (f.runId && /^[0-9a-f-]{36}$/i.test(f.runId)) where.push(`run_id = $${args.push(f.runId)}`);
  if (f.actor) where.push(`actor = $${args.push(f.actor)}`);
  if (f.action) where.push(`action like $${args.push(f.action.replace(/[%_\\]/g, '\\$&') + '%')}`);
  if (f.before) where.push(`id < $${args.push(f.before)}`);
  const limit = Math.min(500, Math.max(1, Math.floor(f.limit ?? 100)));
  const r = await db.query<AuditEntryView>(
    `select id::int, at, actor, action, secret_id as "secretId", run_id as "runId", reason, detail from audit
     ${where.length ? `where ${where.join(' and ')}` : ''} order by id desc limit ${limit + 1}`,
    args,
  );
  const rows = r.rows.slice(0, limit);
  return { rows, nextBefore: r.rows.length > limit ? rows.at(-1)!.id : null };
}

export interface QueueHealth {
  backend: string;
  queues: Array<{ name: string; counts: Record<string, number> | null; paused: boolean | null; workers: number | null; error: string | null }>;
  runs: { queued: number; running: number; waiting: number; oldestActiveAt: Date | null };
  /** Active runs not touched for 5 minutes: their job may be lost (the scheduler re-enqueues them). */
  stale: number;
}

export const QUEUE_NAMES = [RUNS_QUEUE, EMERGENCY_QUEUE, TICK_QUEUE] as const;

export async function queueHealth(db: Queryable, kit: QueueKit): Promise<QueueHealth> {
  const queues = await Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const q = kit.queue(name);
      try {
        const [counts, paused, workers] = await Promise.all([
          q.counts(),
          q.raw.isPaused().catch(() => null),
          q.raw.getWorkersCount().catch(() => null),
        ]);
        return { name, counts, paused, workers, error: null };
      } catch (err) {
        return { name, counts: null, paused: null, workers: null, error: scrub((err as Error).message) };
      }
    }),
  );
  const r = await db.query<QueueHealth['runs'] & { stale: number }>(
    `select count(*) filter (where state = 'queued')::int as queued, count(*) filter (where state = 'running')::int as running,
       count(*) filter (where state = 'waiting')::int as waiting,
       min(created_at) filter (where state in ('queued', 'running', 'waiting')) as "oldestActiveAt",
       count(*) filter (where state in ('queued', 'running', 'waiting') and (lease_until is null or lease_until < now())
         and greatest(updated_at, coalesce(wait_until, updated_at), coalesce(not_before, updated_at)) < now() - interval '5 minutes')::int as stale
     from runs where state in ('queued', 'running', 'waiting')`,
  );
  const { stale, ...runs } = r.rows[0]!;
  return { backend: kit.kind, queues, runs, stale };
}
