// The inventory page: status chips, filters, the sortable table of secrets, pagination.
import { html, time, type Html } from './html.js';
import { SORTS, type Inventory, type InventoryQuery } from '../state/inventory.js';
import { NEEDS_ME_NOW, STATUSES } from '../state/status.js';
import { layout, runLink, secretLink, statusBadge, withQuery, type PageMeta } from './layout.js';

const SORT_TEXT: Record<string, string> = {
  status: 'urgency',
  id: 'id',
  class: 'class',
  owner: 'owner',
  'next-due': 'next due',
  'last-success': 'last success',
};

const STATUS_OPTIONS: ReadonlyArray<[string, string]> = [
  ['now', 'needs me now'],
  ['all', 'all'],
  ...STATUSES.map((st): [string, string] => [st, st.replace('-', ' ')]),
];

/**
 * The summary strip: what needs me now, then a count per status, then all; each a link to that
 * filter (the other filters kept), the current one marked.
 */
function summary(inv: Inventory, current: string, base: Record<string, string | number | undefined>): Html {
  const now = NEEDS_ME_NOW.reduce((n, st) => n + inv.counts[st], 0);
  const all = STATUSES.reduce((n, st) => n + inv.counts[st], 0);
  const chip = (value: string, label: Html | string, count: number) =>
    html`<a class="chip${current === value ? ' on' : ''}" href="/${withQuery(base, { status: value === 'now' ? undefined : value, page: undefined })}"${current === value ? html` aria-current="true"` : ''}>${label} <b data-count="${value}">${count}</b></a>`;
  return html`${chip('now', html`<span class="badge s-now">needs me now</span>`, now)}${STATUSES.map((st) => chip(st, statusBadge(st), inv.counts[st]))}${chip('all', html`<span class="badge">all</span>`, all)}`;
}

export function inventoryPage(meta: PageMeta, inv: Inventory, q: InventoryQuery, now: Date): Html {
  const current = q.status ?? 'all';
  const base = {
    status: current === 'now' ? undefined : current,
    target: q.target,
    class: q.class,
    owner: q.owner,
    tag: q.tag,
    q: q.q,
    sort: q.sort,
    dir: q.dir,
    perPage: q.perPage,
  };
  const option = (value: string, selected: string | undefined, text = value) =>
    html`<option value="${value}"${value === (selected ?? '') ? html` selected` : ''}>${text}</option>`;
  const select = (name: string, label: string, values: readonly string[], selected: string | undefined) =>
    html`<label>${label} <select name="${name}">${option('', selected, 'any')}${values.map((v) => option(v, selected))}</select></label>`;
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
  const empty =
    current === 'now'
      ? html`<tr><td colspan="9"><p class="calm" data-calm>Nothing needs you now: no secret needs attention, is overdue or is rotating.
${inv.counts['due-soon'] ? html`<a href="/${withQuery(base, { status: 'due-soon' })}">${inv.counts['due-soon']} due soon</a> · ` : ''}<a href="/${withQuery(base, { status: 'all' })}">all secrets</a> · <a href="/calendar">upcoming rotations</a></p></td></tr>`
      : html`<tr><td colspan="9" class="muted">no secrets match</td></tr>`;
  const pager = html`<nav class="pager">${inv.page > 1 ? html`<a href="/${withQuery(base, { page: inv.page - 1 })}" rel="prev">← previous</a>` : ''}
<span>page ${inv.page} of ${inv.pages} · ${inv.total} secrets</span>${inv.page < inv.pages ? html`<a href="/${withQuery(base, { page: inv.page + 1 })}" rel="next">next →</a>` : ''}</nav>`;
  return layout(
    meta,
    html`<h1>Inventory${current === 'now' ? html` <span class="muted">· what needs me now</span>` : ''}</h1>
<section id="chips" data-live class="chips" aria-label="summary">${summary(inv, current, base)}</section>
<form class="filters" method="get" action="/">
<label>Status <select name="status">${STATUS_OPTIONS.map(([v, t]) => option(v, current, t))}</select></label>${select('class', 'Class', inv.facets.classes, q.class)}${select('owner', 'Owner', inv.facets.owners, q.owner)}${select('tag', 'Tag', inv.facets.tags, q.tag)}
<label>Id contains <input name="q" value="${q.q ?? ''}" size="16" data-filter placeholder="press /"></label>
${q.target ? html`<label>Target <input name="target" value="${q.target}" size="24" readonly></label>` : ''}
<label>Sort <select name="sort">${SORTS.map((s) => option(s, q.sort ?? 'status', SORT_TEXT[s]))}</select></label>
<label>Order <select name="dir">${option('asc', q.dir ?? 'asc', 'ascending')}${option('desc', q.dir, 'descending')}</select></label>
<button type="submit">Filter</button> <a href="/">reset</a></form>
<section id="inventory" data-live><table class="grid"><thead><tr>${header('id', 'Secret')}${header('status', 'Status')}${header('class', 'Class')}${header('owner', 'Owner')}<th>Tags</th><th>Rotator</th>${header('last-success', 'Last success')}${header('next-due', 'Next due')}<th>Run</th></tr></thead>
<tbody>${rows.length ? rows : empty}</tbody></table>${pager}</section>`,
  );
}
