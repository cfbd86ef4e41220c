// The run page: what was asked, by whom and why; the timeline of steps with their times; consumer
// confirmations; errors; and the audit rows of the run.
import { scrub } from '../redact.js';
import type { RunDetail } from './details.js';
import { duration, html, time, type Html } from './html.js';
import { layout, secretLink, statusBadge, type PageMeta } from './layout.js';

/** A bar per step, placed on the run's own time axis (created → finished, or now). */
function timeline(d: RunDetail, now: Date): Html {
  const start = d.run.createdAt.getTime();
  const end = Math.max(start + 1, (d.run.finishedAt ?? now).getTime());
  const span = end - start;
  const rows = d.steps.map((s) => {
    const from = s.startedAt.getTime();
    const to = (s.finishedAt ?? now).getTime();
    const left = ((from - start) / span) * 100;
    const width = Math.max(0.5, ((to - from) / span) * 100);
    return html`<tr class="step-${s.status}" data-step="${s.step}" data-status="${s.status}"><td>${s.step}</td><td>${s.attempt}</td><td>${statusBadge(s.status)}</td>
<td>${time(s.startedAt, now)}</td><td>${s.finishedAt ? duration(to - from) : html`<span class="muted">running</span>`}</td>
<td class="bar"><span style="--l:${left.toFixed(2)};--w:${width.toFixed(2)}"></span></td>
<td>${s.error ? html`<span class="error">${s.error}</span>` : s.detail ? html`<code>${scrub(JSON.stringify(s.detail))}</code>` : ''}</td></tr>`;
  });
  return html`<table class="grid timeline"><thead><tr><th>Step</th><th>#</th><th>Status</th><th>Started</th><th>Took</th><th class="bar">${duration(span)}</th><th>Detail / error</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="7" class="muted">no step has started yet</td></tr>`}</tbody></table>`;
}

function consumers(d: RunDetail, now: Date): Html {
  if (!d.consumers.length) return html`<p class="muted">No consumer was notified in this run.</p>`;
  const promoted = d.run.promotedAt?.getTime();
  return html`<table class="grid"><thead><tr><th>Consumer</th><th>Wave</th><th>Notified</th><th>Confirmed</th><th>After promote</th><th>Version</th><th>Last error</th></tr></thead><tbody>
${d.consumers.map(
  (
    c,
  ) => html`<tr><td>${c.consumer}</td><td>${c.wave}</td><td>${time(c.notifiedAt, now)}</td><td>${c.confirmedAt ? time(c.confirmedAt, now) : html`<span class="muted">not yet</span>`}</td>
<td>${c.confirmedAt && promoted ? duration(c.confirmedAt.getTime() - promoted) : '-'}</td><td><code>${c.confirmedVersion ?? ''}</code></td><td>${c.lastError ? html`<span class="error">${c.lastError}</span>` : ''}</td></tr>`,
)}
</tbody></table>`;
}

export function runPage(meta: PageMeta, d: RunDetail, now: Date, queue: string): Html {
  const r = d.run;
  const fact = (k: string, v: Html | string | null) => html`<tr><th>${k}</th><td>${v ?? '-'}</td></tr>`;
  return layout(
    meta,
    html`<h1><span class="muted">run</span> <code>${r.id}</code></h1>
<section id="run-summary" data-live><p>${statusBadge(r.state)}${r.outcome ? html` <b data-outcome>${r.outcome}</b>` : ''} at step <b>${r.step}</b>
${r.trigger === 'emergency' ? html` <span class="badge s-emergency">emergency</span>` : ''}${r.force ? html` <span class="badge s-needs-attention">forced</span>` : ''}</p>
${r.error ? html`<p class="error" role="alert">${r.error}</p>` : ''}
<table class="facts">${fact('secret', secretLink(r.secretId))}${fact('trigger', r.trigger)}${fact('requested by', r.actor)}${fact('reason', r.reason)}
${fact('requested', time(r.createdAt, now))}${fact('started', time(r.startedAt, now))}${fact('promoted', time(r.promotedAt, now))}
${fact('grace until', time(r.graceUntil, now))}${fact('waiting until', time(r.waitUntil, now))}${fact('finished', time(r.finishedAt, now))}
${fact('attempts', String(r.totalAttempts))}${fact('old version', r.oldVersion ? html`<code>${r.oldVersion}</code>` : null)}${fact('new version', r.newVersion ? html`<code>${r.newVersion}</code>` : null)}
${fact('queue job', html`<a href="/queues/board/queue/${queue}/${r.id}">${queue} / ${r.id.slice(0, 8)}</a>`)}</table></section>
<h2>Timeline</h2><section id="timeline" data-live>${timeline(d, now)}</section>
<h2>Consumer confirmations</h2><section id="consumers" data-live>${consumers(d, now)}</section>
<h2>Audit</h2><section id="run-audit" data-live><table class="grid"><thead><tr><th>#</th><th>At</th><th>Actor</th><th>Action</th><th>Reason</th></tr></thead><tbody>
${d.audit.map((a) => html`<tr><td>${a.id}</td><td>${time(a.at, now)}</td><td>${a.actor}</td><td>${a.action}</td><td>${a.reason ?? ''}</td></tr>`)}</tbody></table></section>`,
  );
}
