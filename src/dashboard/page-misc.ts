// The audit trail page and the queue health page.
import type { AuditEntryView, AuditFilter, QueueHealth } from './details.js';
import { html, time, type Html } from './html.js';
import { layout, runLink, secretLink, withQuery, type PageMeta } from './layout.js';

export function auditPageView(meta: PageMeta, rows: AuditEntryView[], nextBefore: number | null, f: AuditFilter, now: Date): Html {
  const base = { secret: f.secretId, run: f.runId, actor: f.actor, action: f.action };
  return layout(
    meta,
    html`<h1>Audit trail</h1><p class="muted">Append-only: every change of state, who or what did it, which secret and run, when and why.</p>
<form class="filters" method="get" action="/audit"><label>Secret <input name="secret" value="${f.secretId ?? ''}" data-filter placeholder="press /"></label>
<label>Actor <input name="actor" value="${f.actor ?? ''}"></label><label>Action starts with <input name="action" value="${f.action ?? ''}" size="14"></label>
<button type="submit">Filter</button> <a href="/audit">reset</a></form>
<section id="audit" data-live><table class="grid"><thead><tr><th>#</th><th>At</th><th>Actor</th><th>Action</th><th>Secret</th><th>Run</th><th>Reason</th></tr></thead><tbody>
${rows.map((a) => html`<tr><td>${a.id}</td><td>${time(a.at, now)}</td><td>${a.actor}</td><td>${a.action}</td><td>${a.secretId ? secretLink(a.secretId) : '-'}</td><td>${a.runId ? runLink(a.runId) : '-'}</td><td>${a.reason ?? ''}</td></tr>`)}
</tbody></table>${nextBefore ? html`<nav class="pager"><a href="/audit${withQuery(base, { before: nextBefore })}" rel="next">older →</a></nav>` : ''}</section>`,
  );
}

export function queuesPage(meta: PageMeta, h: QueueHealth, now: Date): Html {
  const states = ['wait', 'active', 'delayed', 'prioritized', 'completed', 'failed'];
  return layout(
    meta,
    html`<h1>Queue health</h1><p>Backend: <b>${h.backend === 'redis' ? 'Redis' : 'BullMQ PostgreSQL backend'}</b> · <a href="/queues/board">bull-board (read-only)</a></p>
<section id="queues" data-live><table class="grid"><thead><tr><th>Queue</th>${states.map((s) => html`<th>${s}</th>`)}<th>paused</th><th>workers</th></tr></thead><tbody>
${h.queues.map(
  (
    q,
  ) => html`<tr><td><a href="/queues/board/queue/${q.name}">${q.name}</a></td>${q.counts ? states.map((s) => html`<td>${q.counts![s] ?? 0}</td>`) : html`<td colspan="${states.length}" class="error">${q.error}</td>`}
<td>${q.paused === null ? '?' : q.paused ? 'yes' : 'no'}</td><td>${q.workers ?? '?'}</td></tr>`,
)}</tbody></table>
<h2>Runs</h2><table class="facts"><tr><th>queued</th><td>${h.runs.queued}</td></tr><tr><th>running</th><td>${h.runs.running}</td></tr><tr><th>waiting (grace, confirmation, backoff)</th><td>${h.runs.waiting}</td></tr>
<tr><th>oldest active run requested</th><td>${time(h.runs.oldestActiveAt, now)}</td></tr>
<tr><th>stale (no progress for 5 minutes)</th><td${h.stale ? html` class="error"` : ''}>${h.stale}</td></tr></table></section>`,
  );
}
