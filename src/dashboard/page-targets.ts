// The target pages: every system secrets live on (its rotator's targetKey: a database server, a
// Redis deployment, an IAM user...) with its secrets' statuses, and one target with its secrets
// and their runs, newest first.
import type { InventoryItem } from '../state/inventory.js';
import type { RunRow } from '../state/runs.js';
import { STATUSES } from '../state/status.js';
import type { TargetSummary } from '../state/targets.js';
import type { TargetDetail } from './details.js';
import { duration, html, time, type Html } from './html.js';
import { layout, runLink, secretLink, statusBadge, targetLink, withQuery, type PageMeta } from './layout.js';

/** `postgres`, `redis`, `rds`... from `postgres://db:5432/app`: what kind of system it is. */
export function targetKind(key: string): string {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(key)?.[1] ?? 'other';
}

function counts(c: Record<string, number>): Html {
  return html`${STATUSES.filter((s) => c[s]).map((s) => html`${statusBadge(s)} <b>${c[s]}</b> `)}`;
}

export function targetsPage(meta: PageMeta, list: { targets: TargetSummary[]; total: number }, q: string | undefined, now: Date): Html {
  const rows = list.targets.map(
    (t) =>
      html`<tr data-target="${t.key}"><td>${targetLink(t.key)}</td><td>${targetKind(t.key)}</td><td>${statusBadge(t.worst)}</td><td>${t.secrets}</td><td>${counts(t.counts)}</td><td>${time(t.nextDueAt, now)}</td></tr>`,
  );
  return layout(
    meta,
    html`<h1>Targets</h1><p class="muted">The systems secrets live on, as their rotators name them; runs on one target are staggered. Most urgent first.</p>
<form class="filters" method="get" action="/targets"><label>Target contains <input name="q" value="${q ?? ''}" size="24" data-filter placeholder="press /"></label>
<button type="submit">Filter</button> <a href="/targets">reset</a></form>
<section id="targets" data-live><table class="grid"><thead><tr><th>Target</th><th>Kind</th><th>Most urgent</th><th>Secrets</th><th>Statuses</th><th>Next due</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="6" class="muted">no targets match</td></tr>`}</tbody></table>
<p class="pager"><span>${list.total} targets${list.total > list.targets.length ? ` (the first ${list.targets.length} shown)` : ''}</span></p></section>`,
  );
}

function secretRows(items: InventoryItem[], now: Date): Html {
  return html`${items.map(
    (s) =>
      html`<tr data-secret="${s.id}"><td>${secretLink(s.id)}</td><td>${statusBadge(s.status)}</td><td>${s.class ?? '-'}</td><td>${s.owner ?? '-'}</td><td>${s.rotator}</td>
<td>${time(s.lastSuccessAt, now)}</td><td>${time(s.nextDueAt, now)}</td><td>${s.activeRun ? html`${runLink(s.activeRun.id)} ${s.activeRun.step}` : '-'}</td></tr>`,
  )}`;
}

function runRows(runs: RunRow[], now: Date): Html {
  return html`${runs.map(
    (r) =>
      html`<tr data-run="${r.id}"><td>${runLink(r.id)}</td><td>${secretLink(r.secretId)}</td><td>${time(r.createdAt, now)}</td><td>${r.trigger}</td><td>${r.actor}</td>
<td>${statusBadge(r.state)}${r.outcome ? html` ${r.outcome}` : ''}</td><td>${r.step}</td><td>${r.totalAttempts}</td><td>${r.finishedAt ? duration(r.finishedAt.getTime() - r.createdAt.getTime()) : '-'}</td></tr>`,
  )}`;
}

export function targetPage(meta: PageMeta, d: TargetDetail, now: Date): Html {
  // The inventory's counts are over every secret: this target's come from its own (all on one page).
  const c: Record<string, number> = {};
  for (const s of d.secrets.items) c[s.status] = (c[s.status] ?? 0) + 1;
  return layout(
    meta,
    html`<h1><span class="muted">target</span> <code>${d.key}</code></h1>
<p>${targetKind(d.key)} · ${d.secrets.total} secret${d.secrets.total === 1 ? '' : 's'} · <a href="/${withQuery({}, { status: 'all', target: d.key })}">in the inventory</a> · <a href="/calendar${withQuery({}, { target: d.key })}">upcoming rotations</a></p>
<section id="target-summary" data-live class="chips">${counts(c)}</section>
<h2>Secrets</h2><section id="target-secrets" data-live><table class="grid"><thead><tr><th>Secret</th><th>Status</th><th>Class</th><th>Owner</th><th>Rotator</th><th>Last success</th><th>Next due</th><th>Run</th></tr></thead>
<tbody>${secretRows(d.secrets.items, now)}</tbody></table></section>
<h2>Runs</h2><section id="target-runs" data-live>${
      d.runs.length
        ? html`<table class="grid"><thead><tr><th>Run</th><th>Secret</th><th>Requested</th><th>Trigger</th><th>By</th><th>State</th><th>Step</th><th>Steps run</th><th>Took</th></tr></thead>
<tbody>${runRows(d.runs, now)}</tbody></table>`
        : html`<p class="muted">No runs yet on this target.</p>`
    }</section>`,
  );
}
