// The inventory page: status chips, filters, the sortable table of secrets, pagination.
import { html, time, type Html } from './html.js';
import { SORTS, type Inventory, type InventoryQuery } from '../state/inventory.js';
import { STATUSES } from '../state/status.js';
import { layout, runLink, secretLink, statusBadge, withQuery, type PageMeta } from './layout.js';

const SORT_TEXT: Record<string, string> = {
  status: 'urgency',
  id: 'id',
  class: 'class',
  owner: 'owner',
  'next-due': 'next due',
  'last-success': 'last success',
};

export function inventoryPage(meta: PageMeta, inv: Inventory, q: InventoryQuery, now: Date): Html {
  const base = { status: q.status, class: q.class, owner: q.owner, tag: q.tag, q: q.q, sort: q.sort, dir: q.dir, perPage: q.perPage };
  const option = (value: string, current: string | undefined, text = value) =>
    html`<option value="${value}"${value === (current ?? '') ? html` selected` : ''}>${text}</option>`;
  const select = (name: string, label: string, values: readonly string[], current: string | undefined) =>
    html`<label>${label} <select name="${name}">${option('', current, 'any')}${values.map((v) => option(v, current))}</select></label>`;
  const chips = STATUSES.map(
    (s) =>
      html`<a class="chip${q.status === s ? ' on' : ''}" href="/${withQuery(base, { status: q.status === s ? undefined : s, page: undefined })}">${statusBadge(s)} <b data-count="${s}">${inv.counts[s]}</b></a>`,
  );
  const header = (key: (typeof SORTS)[number], text: string) => {
    const active = (q.sort ?? 'status') === key;
    const dir = active && q.dir !== 'desc' ? 'desc' : 'asc';
    return html`<th><a href="/${withQuery(base, { sort: key, dir, page: undefined })}">${text}${active ? (q.dir === 'desc' ? ' ▾' : ' ▴') : ''}</a></th>`;
  };
  const rows = inv.items.map(
    (
      s,
    ) => html`<tr data-secret="${s.id}"><td>${secretLink(s.id)}</td><td>${statusBadge(s.status)}</td><td>${s.class ?? '-'}</td><td>${s.owner ?? '-'}</td>
<td>${s.tags.map((t) => html`<span class="tag">${t}</span>`)}</td><td>${s.rotator}</td><td>${time(s.lastSuccessAt, now)}</td><td>${time(s.nextDueAt, now)}</td>
<td>${s.activeRun ? html`${runLink(s.activeRun.id)} ${s.activeRun.step}${s.activeRun.trigger === 'emergency' ? html` <span class="badge s-emergency">emergency</span>` : ''}` : s.lastRun ? html`<span class="muted">last ${runLink(s.lastRun.id)} ${s.lastRun.outcome ?? s.lastRun.state}</span>` : '-'}</td></tr>`,
  );
  const pager = html`<nav class="pager">${inv.page > 1 ? html`<a href="/${withQuery(base, { page: inv.page - 1 })}" rel="prev">← previous</a>` : ''}
<span>page ${inv.page} of ${inv.pages} · ${inv.total} secrets</span>${inv.page < inv.pages ? html`<a href="/${withQuery(base, { page: inv.page + 1 })}" rel="next">next →</a>` : ''}</nav>`;
  return layout(
    meta,
    html`<h1>Inventory</h1>
<section id="chips" data-live class="chips">${chips}</section>
<form class="filters" method="get" action="/">
${select('status', 'Status', STATUSES, q.status)}${select('class', 'Class', inv.facets.classes, q.class)}${select('owner', 'Owner', inv.facets.owners, q.owner)}${select('tag', 'Tag', inv.facets.tags, q.tag)}
<label>Id contains <input name="q" value="${q.q ?? ''}" size="16"></label>
<label>Sort <select name="sort">${SORTS.map((s) => option(s, q.sort ?? 'status', SORT_TEXT[s]))}</select></label>
<label>Order <select name="dir">${option('asc', q.dir ?? 'asc', 'ascending')}${option('desc', q.dir, 'descending')}</select></label>
<button type="submit">Filter</button> <a href="/">reset</a></form>
<section id="inventory" data-live><table class="grid"><thead><tr>${header('id', 'Secret')}${header('status', 'Status')}${header('class', 'Class')}${header('owner', 'Owner')}<th>Tags</th><th>Rotator</th>${header('last-success', 'Last success')}${header('next-due', 'Next due')}<th>Run</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="9" class="muted">no secrets match</td></tr>`}</tbody></table>${pager}</section>`,
  );
}
