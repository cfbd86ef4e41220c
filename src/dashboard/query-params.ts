// Query strings into typed filters: unknown values are dropped, never passed to SQL.
import { SORTS, type InventoryQuery, type InventorySort } from '../state/inventory.js';
import { STATUSES, type SecretStatus } from '../state/status.js';
import type { AuditFilter, CalendarFilter } from './details.js';

type Get = (name: string) => string | undefined;

const text = (v: string | undefined, max = 200) => (v && v.trim() ? v.trim().slice(0, max) : undefined);
const int = (v: string | undefined) => (v && /^\d{1,9}$/.test(v) ? Number(v) : undefined);

/**
 * `status` is one status, `now` (what needs an operator now) or `all`; absent, `defaultStatus`: the
 * inventory page opens on `now`, the API on all.
 */
export function inventoryQuery(get: Get, defaultStatus: 'now' | 'all' = 'all'): InventoryQuery {
  const given = get('status') || defaultStatus;
  const sort = get('sort');
  return {
    status: given === 'now' || (STATUSES as readonly string[]).includes(given) ? (given as SecretStatus | 'now') : undefined,
    target: text(get('target'), 1000),
    class: text(get('class')),
    owner: text(get('owner')),
    tag: text(get('tag')),
    q: text(get('q')),
    sort: (SORTS as readonly string[]).includes(sort ?? '') ? (sort as InventorySort) : undefined,
    dir: get('dir') === 'desc' ? 'desc' : get('dir') === 'asc' ? 'asc' : undefined,
    page: int(get('page')),
    perPage: int(get('perPage')),
  };
}

export function auditFilter(get: Get): AuditFilter {
  return {
    secretId: text(get('secret')),
    runId: text(get('run')),
    actor: text(get('actor')),
    action: text(get('action')),
    before: int(get('before')),
    limit: int(get('limit')),
  };
}

export function calendarFilter(get: Get): CalendarFilter {
  return {
    q: text(get('q')),
    class: text(get('class')),
    owner: text(get('owner')),
    target: text(get('target'), 1000),
    days: int(get('days')),
  };
}

/** The targets list's filter: a substring of the key. */
export function targetsQuery(get: Get): string | undefined {
  return text(get('q'), 1000);
}
