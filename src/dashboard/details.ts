// What the secret, run, audit and queue pages show, read from the state database, the store's
// version metadata (never a value) and the queues.
import { isAbsolute, relative, resolve } from 'node:path';
import type { QueueKit } from '../queue/backend.js';
import { EMERGENCY_QUEUE, RUNS_QUEUE, TICK_QUEUE } from '../queue/names.js';
import { scrub } from '../redact.js';
import { activeRunSummary, type ActiveRunSummary } from '../state/active-runs.js';
import { listAudit, type AuditRow } from '../state/audit.js';
import { runConsumers, type ConsumerStaleness } from '../state/consumers.js';
import type { Queryable } from '../state/db.js';
import { getRun, listRuns, listSteps, type RunRow, type StepRow } from '../state/runs.js';
import { getSecret } from '../state/secrets.js';
import { activeRunWaits, type RunWait } from '../state/run-waits.js';
import type { SecretStore, VersionInfo } from '../store/contract.js';
import type { ResolvedSecret } from '../policy/types.js';
import { inventoryItem, queryInventory, type Inventory, type InventoryItem } from '../state/inventory.js';
import { targetRuns, upcomingSecrets, type UpcomingFilter } from '../state/targets.js';
import { calendar, CALENDAR_DAYS, type CalendarDay } from './calendar.js';
import type { StatusRules } from '../state/status.js';

/** Only `describe` is ever called: the dashboard has no use for a value. */
export type VersionSource = Record<string, Pick<SecretStore, 'describe'>>;

export interface SecretDetail {
  item: InventoryItem;
  policy: ResolvedSecret;
  /** The policy file, relative to the policy directory when it is inside it. */
  policyFile: string;
  targetKey: string;
  /** What its active run waits for, if anything. */
  wait: RunWait | null;
  retiredAt: Date | null;
  versions: VersionInfo[] | null;
  /** Why versions could not be read (store not configured here, store unreachable). */
  versionsError: string | null;
  runs: RunRow[];
}

export async function secretDetail(
  db: Queryable,
  stores: VersionSource,
  id: string,
  rules: StatusRules,
  policyRoot?: string,
): Promise<SecretDetail | null> {
  const [row, item, runs] = await Promise.all([getSecret(db, id), inventoryItem(db, id, rules), listRuns(db, id, 50)]);
  if (!row || !item) return null;
  const wait = item.activeRun ? ((await activeRunWaits(db, rules.now, [item.activeRun.id])).get(item.activeRun.id) ?? null) : null;
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
  return {
    item,
    policy: row.policy,
    policyFile: policyPath(row.policy.source.file, policyRoot),
    targetKey: row.targetKey,
    wait,
    retiredAt: row.retiredAt,
    versions,
    versionsError,
    runs,
  };
}

/** `payments/db.yaml` for /srv/policies/payments/db.yaml under /srv/policies; as stored when outside it. */
export function policyPath(file: string, root: string | undefined): string {
  if (!root) return file;
  const rel = relative(root, resolve(file));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

export interface RunDetail {
  run: RunRow;
  /** The target the secret lives on (its rotator's targetKey); null if the secret row is gone. */
  targetKey: string | null;
  /** What the active run waits for and until when (stagger, grace, a pause); null when it waits for nothing. */
  wait: RunWait | null;
  steps: StepRow[];
  consumers: ConsumerStaleness[];
  /** Oldest first. */
  audit: AuditRow[];
}

/** A run's audit rows are few (a request, one per step, an end); this bounds a pathological one. */
const RUN_AUDIT_LIMIT = 1000;

export async function runDetail(db: Queryable, id: string, now = new Date()): Promise<RunDetail | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [run, steps, consumers, audit, waits] = await Promise.all([
    getRun(db, id),
    listSteps(db, id),
    runConsumers(db, id),
    listAudit(db, { runId: id, oldestFirst: true, limit: RUN_AUDIT_LIMIT }),
    activeRunWaits(db, now, [id]),
  ]);
  if (!run) return null;
  const secret = await getSecret(db, run.secretId);
  return { run, targetKey: secret?.targetKey ?? null, wait: waits.get(id) ?? null, steps, consumers, audit };
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

export type AuditEntryView = AuditRow;

export async function auditPage(db: Queryable, f: AuditFilter): Promise<{ rows: AuditEntryView[]; nextBefore: number | null }> {
  const limit = Math.min(500, Math.max(1, Math.floor(f.limit ?? 100)));
  // One row more than the page says whether there is a next one. A run id that is not a UUID
  // filters nothing (run_id is a uuid column: PostgreSQL would refuse the text).
  const found = await listAudit(db, {
    secretId: f.secretId,
    runId: f.runId && /^[0-9a-f-]{36}$/i.test(f.runId) ? f.runId : undefined,
    actor: f.actor,
    actionPrefix: f.action,
    before: f.before,
    limit: limit + 1,
  });
  const rows = found.slice(0, limit);
  return { rows, nextBefore: found.length > limit ? rows.at(-1)!.id : null };
}

export interface QueueHealth {
  backend: string;
  queues: Array<{
    name: string;
    counts: Record<string, number> | null;
    paused: boolean | null;
    workers: number | null;
    error: string | null;
  }>;
  runs: Omit<ActiveRunSummary, 'stale'>;
  /** Active runs not touched for 5 minutes: their job may be lost (the scheduler re-enqueues them). */
  stale: number;
}

const STALE_MS = 5 * 60_000;

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
  const { stale, ...runs } = await activeRunSummary(db, STALE_MS, new Date());
  return { backend: kit.kind, queues, runs, stale };
}

export interface TargetDetail {
  key: string;
  /** Its secrets, every status, most urgent first. */
  secrets: Inventory;
  /** Runs of its secrets, newest first. */
  runs: RunRow[];
}

/** A target's secrets are few (the secrets of one database or user): one page holds them. */
const TARGET_SECRETS = 500;

export async function targetDetail(db: Queryable, key: string, rules: StatusRules): Promise<TargetDetail | null> {
  const [secrets, runs] = await Promise.all([queryInventory(db, { target: key, perPage: TARGET_SECRETS }, rules), targetRuns(db, key, 50)]);
  return secrets.total ? { key, secrets, runs } : null;
}

export interface CalendarFilter extends UpcomingFilter {
  /** @defaultValue 30 (CALENDAR_DAYS), at most that */
  days?: number | undefined;
}

export interface CalendarView {
  days: CalendarDay[];
  horizonDays: number;
  /** Secrets due within the horizon, and how many of them the calendar holds (the soonest). */
  total: number;
  shown: number;
}

/** Secrets a calendar page reads at most: the soonest due first. */
const CALENDAR_SECRETS = 5_000;

export async function calendarView(db: Queryable, f: CalendarFilter, now: Date): Promise<CalendarView> {
  const horizonDays = Math.min(CALENDAR_DAYS, Math.max(1, Math.floor(f.days ?? CALENDAR_DAYS)));
  const until = new Date(now.getTime() + horizonDays * 86_400_000);
  const { secrets, total } = await upcomingSecrets(db, until, f, CALENDAR_SECRETS);
  return { days: calendar(secrets, now, horizonDays), horizonDays, total, shown: secrets.length };
}
