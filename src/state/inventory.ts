// The inventory: every secret with its status (status.ts), filtered, sorted and paginated in SQL,
// for the dashboard's pages and /api/secrets.
import type { Queryable } from './db.js';
import { ACTIVE_IN } from './run-states.js';
import {
  NEEDS_ME_NOW,
  STATUS_CASE,
  STATUS_SEVERITY,
  STATUSES,
  secretStatus,
  statusArgs,
  statusFrom,
  type SecretStatus,
  type StatusRules,
} from './status.js';

export const SORTS = ['status', 'id', 'class', 'owner', 'next-due', 'last-success'] as const;
export type InventorySort = (typeof SORTS)[number];

export interface InventoryQuery {
  /** One status, or `now`: every status in NEEDS_ME_NOW. */
  status?: SecretStatus | 'now' | undefined;
  /** The target's key exactly (secrets.target_key). */
  target?: string | undefined;
  class?: string | undefined;
  owner?: string | undefined;
  tag?: string | undefined;
  /** Substring of the id. */
  q?: string | undefined;
  /** @defaultValue 'status' (most urgent first) */
  sort?: InventorySort | undefined;
  /** @defaultValue 'asc' */
  dir?: 'asc' | 'desc' | undefined;
  /** 1-based. @defaultValue 1 */
  page?: number | undefined;
  /** @defaultValue 50 */
  perPage?: number | undefined;
}

export interface InventoryItem {
  id: string;
  status: SecretStatus;
  class: string | null;
  owner: string | null;
  tags: string[];
  rotator: string;
  store: string;
  lastSuccessAt: Date | null;
  nextDueAt: Date | null;
  overdueSince: Date | null;
  activeRun: { id: string; step: string; state: string; trigger: string } | null;
  lastRun: { id: string; state: string; outcome: string | null } | null;
}

export interface Inventory {
  items: InventoryItem[];
  total: number;
  page: number;
  perPage: number;
  pages: number;
  /** Over all secrets, whatever the filter: the numbers on the status chips. */
  counts: Record<SecretStatus, number>;
  facets: { classes: string[]; owners: string[]; tags: string[] };
}

const ORDER: Record<InventorySort, string[]> = {
  // Within a status, the longest overdue (or soonest due) first.
  status: [STATUS_SEVERITY, 'next_due_at'],
  id: ['id'],
  class: ['class'],
  owner: ['owner'],
  'next-due': ['next_due_at'],
  'last-success': ['last_success_at'],
};

/** What one line of the table needs beyond the status: its active run, its last run, rotator, store. */
const DETAIL_SQL = `select s.id, s.policy->>'className' as class, s.policy->>'owner' as owner,
    coalesce(s.policy->'tags', '[]'::jsonb) as tags, s.policy->'rotator'->>'name' as rotator,
    s.policy->'store'->>'backend' as store, s.last_success_at, s.next_due_at, s.overdue_since,
    a.id as active_id, a.step as active_step, a.state as active_state, a.trigger as active_trigger,
    l.id as last_id, l.state as last_state, l.outcome as last_outcome
  from secrets s
  left join runs a on a.secret_id = s.id and a.state in ${ACTIVE_IN}
  left join lateral (
    select r.id, r.state, r.outcome from runs r where r.secret_id = s.id order by r.created_at desc limit 1
  ) l on true
  where s.id = any($1::text[])`;

interface Row {
  id: string;
  class: string | null;
  owner: string | null;
  tags: string[];
  rotator: string;
  store: string;
  last_success_at: Date | null;
  next_due_at: Date | null;
  overdue_since: Date | null;
  active_id: string | null;
  active_step: string | null;
  active_state: string | null;
  active_trigger: string | null;
  last_id: string | null;
  last_state: string | null;
  last_outcome: string | null;
}

interface Summary {
  /** `status:id`, in page order (a status never contains ':'). */
  page: string[];
  total: number;
  counts: Record<string, number>;
  classes: string[];
  owners: string[];
  tags: string[][];
}

const MAX_PER_PAGE = 500;

/**
 * Two statements: one pass over all secrets for the statuses, the page's ids, the total, the
 * counts and the facets (the derived rows are computed once and shared); then the details of the
 * page's rows only.
 */
export async function queryInventory(db: Queryable, q: InventoryQuery, rules: StatusRules): Promise<Inventory> {
  const args: unknown[] = statusArgs(rules);
  const where: string[] = [];
  if (q.status === 'now') where.push(`status = any($${args.push(NEEDS_ME_NOW)}::text[])`);
  else if (q.status) where.push(`status = $${args.push(q.status)}`);
  if (q.target) where.push(`target_key = $${args.push(q.target)}`);
  if (q.class) where.push(`class = $${args.push(q.class)}`);
  if (q.owner) where.push(`owner = $${args.push(q.owner)}`);
  if (q.tag) where.push(`tags @> jsonb_build_array($${args.push(q.tag)}::text)`);
  if (q.q) where.push(`strpos(lower(id), lower($${args.push(q.q)})) > 0`);
  const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Math.floor(q.perPage ?? 50)));
  const page = Math.max(1, Math.floor(q.page ?? 1));
  const dir = q.dir === 'desc' ? 'desc' : 'asc';
  const order = [...ORDER[q.sort ?? 'status'].map((e) => `${e} ${dir} nulls last`), `id ${dir}`].join(', ');
  const summarySql = `with inv as materialized (
      select s.id, s.policy->>'className' as class, s.policy->>'owner' as owner,
        coalesce(s.policy->'tags', '[]'::jsonb) as tags, s.next_due_at, s.last_success_at, s.target_key, ${STATUS_CASE} as status
      ${statusFrom()}
    ), sel as materialized (select id, status, class, owner, next_due_at, last_success_at from inv ${where.length ? `where ${where.join(' and ')}` : ''})
    select
      -- array(...) keeps the subquery's order, and ORDER BY ... LIMIT sorts only the top rows.
      array(select status || ':' || id from sel order by ${order} limit ${perPage} offset ${(page - 1) * perPage}) as page,
      (select count(*)::int from sel) as total,
      (select coalesce(jsonb_object_agg(status, n), '{}') from (select status, count(*)::int as n from inv group by status) c) as counts,
      (select coalesce(jsonb_agg(class order by class), '[]') from (select class from inv where class is not null group by class) c) as classes,
      (select coalesce(jsonb_agg(owner order by owner), '[]') from (select owner from inv where owner is not null group by owner) o) as owners,
      -- Distinct tag lists are few; hashing them beats expanding every secret's tags.
      (select coalesce(jsonb_agg(tags), '[]') from (select tags from inv group by tags) t) as tags`;
  const summary = (await db.query<Summary>(summarySql, args)).rows[0]!;
  const pageRows = summary.page.map((entry) => {
    const at = entry.indexOf(':');
    return [entry.slice(at + 1), entry.slice(0, at) as SecretStatus] as const;
  });
  const details = pageRows.length
    ? new Map((await db.query<Row>(DETAIL_SQL, [pageRows.map(([id]) => id)])).rows.map((r) => [r.id, r]))
    : new Map<string, Row>();
  const counts = Object.fromEntries(STATUSES.map((s) => [s, summary.counts[s] ?? 0])) as Record<SecretStatus, number>;
  return {
    items: pageRows.flatMap(([id, status]) => {
      const row = details.get(id);
      return row ? [toItem(row, status)] : [];
    }),
    total: summary.total,
    page,
    perPage,
    pages: Math.max(1, Math.ceil(summary.total / perPage)),
    counts,
    facets: { classes: summary.classes, owners: summary.owners, tags: [...new Set(summary.tags.flat())].sort() },
  };
}

/** One secret's inventory line (its derived status), or null when no such secret exists. */
export async function inventoryItem(db: Queryable, id: string, rules: StatusRules): Promise<InventoryItem | null> {
  const status = await secretStatus(db, id, rules);
  if (!status) return null;
  const detail = (await db.query<Row>(DETAIL_SQL, [[id]])).rows[0];
  return detail ? toItem(detail, status) : null;
}

function toItem(r: Row, status: SecretStatus): InventoryItem {
  return {
    id: r.id,
    status,
    class: r.class,
    owner: r.owner,
    tags: Array.isArray(r.tags) ? r.tags : [],
    rotator: r.rotator,
    store: r.store,
    lastSuccessAt: r.last_success_at,
    nextDueAt: r.next_due_at,
    overdueSince: r.overdue_since,
    activeRun: r.active_id ? { id: r.active_id, step: r.active_step!, state: r.active_state!, trigger: r.active_trigger! } : null,
    lastRun: r.last_id ? { id: r.last_id, state: r.last_state!, outcome: r.last_outcome } : null,
  };
}
