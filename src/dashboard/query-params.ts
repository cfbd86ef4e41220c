// Query strings into typed filters: unknown values are dropped, never passed to SQL.
import { SORTS, type InventoryQuery, type InventorySort } from '../state/inventory.js';
import { STATUSES, type SecretStatus } from '../state/status.js';
import type { AuditFilter } from './details.js';

type Get = (name: string) => string | undefined;

const text = (v: string | undefined, max = 200) => (v && v.trim() ? v.trim().slice(0, max) : undefined);
const int = (v: string | undefined) => (v && /^\d{1,9}$/.test(v) ? Number(v) : undefined);

export function inventoryQuery(get: Get): InventoryQuery {
  const status = get('status');
  const sort = get('sort');
  return {
    status: (STATUSES as readonly string[]).includes(status ?? '') ? (status as SecretStatus) : undefined,
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
