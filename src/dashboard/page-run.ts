// The run page: what was asked, by whom and why; the timeline of steps with their times; consumer
// confirmations; errors; and the audit rows of the run.
import { FAILURE_STEPS } from '../engine/steps.js';
import type { StepRow } from '../state/runs.js';
import type { RunDetail } from './details.js';
import { fields } from './fields.js';
import { relative } from '../time-text.js';
import { duration, html, time, type Html } from './html.js';
import { layout, secretLink, statusBadge, targetLink, waitSentence, type PageMeta } from './layout.js';

/**
 * One line of the timeline: a step's attempt, with the checks that followed it while it waited.
 * A waiting step (grace, confirmations, drain) is recorded as a short row per check; drawn as rows
 * they are slivers with the wait between them invisible, so they are one phase: a span from the
 * first check to the last (or to now), the time waited, and the last check's detail.
 */
interface Phase {
  step: string;
  rows: StepRow[];
  start: number;
  end: number;
  /** Time spent inside the step's checks; the rest of the span was waited. */
  workMs: number;
  waitMs: number;
  /** The run waits in this phase now. */
  waitingNow: boolean;
  /** Still running now. */
  running: boolean;
}

function phases(d: RunDetail, now: Date): Phase[] {
  const groups: StepRow[][] = [];
  for (const s of d.steps) {
    const last = groups.at(-1);
    if (last && last[0]!.step === s.step && last.at(-1)!.status === 'waiting') last.push(s);
    else groups.push([s]);
  }
  const active = !d.run.finishedAt;
  return groups.map((rows, i) => {
    const first = rows[0]!;
    const last = rows.at(-1)!;
    const isLast = i === groups.length - 1;
    const waitingNow = isLast && active && last.status === 'waiting';
    const next = groups[i + 1]?.[0]?.startedAt.getTime();
    const end =
      last.status === 'waiting'
        ? (next ?? (active ? now.getTime() : (d.run.finishedAt ?? now).getTime()))
        : (last.finishedAt ?? now).getTime();
    const workMs = rows.reduce((sum, r) => sum + ((r.finishedAt ?? now).getTime() - r.startedAt.getTime()), 0);
    const span = end - first.startedAt.getTime();
    return {
      step: first.step,
      rows,
      start: first.startedAt.getTime(),
      end,
      workMs,
      waitMs: Math.max(0, span - workMs),
      waitingNow,
      running: !last.finishedAt,
    };
  });
}

/** A bar per phase on the run's own time axis (created → finished, or the end of what it waits for). */
function timeline(d: RunDetail, now: Date): Html {
  const list = phases(d, now);
  const start = d.run.createdAt.getTime();
  // An active run's axis reaches to the end of its wait, so the grace still to come is drawn too.
  const planned = d.run.finishedAt ? 0 : Math.max(d.run.graceUntil?.getTime() ?? 0, d.wait?.until.getTime() ?? 0);
  const end = Math.max(start + 1, (d.run.finishedAt ?? now).getTime(), planned);
  const span = end - start;
  const pct = (ms: number) => ((ms / span) * 100).toFixed(2);
  const rows = list.map((p) => {
    const last = p.rows.at(-1)!;
    const status = last.status;
    const waited = p.rows.some((r) => r.status === 'waiting');
    const left = pct(p.start - start);
    const width = pct(Math.max(p.end - p.start, span / 200));
    const until = p.waitingNow && d.wait ? d.wait.until.getTime() : 0;
    const took = p.running
      ? html`<span class="muted">running</span>`
      : waited
        ? html`waited ${duration(p.waitMs)}${p.waitingNow && until ? html`, <b>${relative(new Date(until), now).replace(/^in /, '')}</b> to go` : ''}`
        : duration(p.workMs);
    const checks = p.rows.length > 1 ? html` <span class="muted">${p.rows.length} checks</span>` : '';
    const errors = p.rows.filter((r) => r.error);
    return html`<tr class="step-${status}${waited ? ' waited' : ''}" data-step="${p.step}" data-status="${status}"><td>${p.step}${checks}</td><td>${last.attempt}</td><td>${statusBadge(status)}</td>
<td>${time(new Date(p.start), now)}</td><td>${took}</td>
<td class="bar"><span class="${waited ? 'wait' : 'work'}" style="--l:${left};--w:${width}"></span>${until > p.end ? html`<span class="planned" style="--l:${pct(p.end - start)};--w:${pct(until - p.end)}"></span>` : ''}</td>
<td>${errors.map((r) => html`<p class="error">${r.error}</p>`)}${fields(last.detail, now)}</td></tr>`;
  });
  return html`<table class="grid timeline"><thead><tr><th>Step</th><th>Try</th><th>Status</th><th>Started</th><th>Took</th><th class="bar">${duration(span)}</th><th>Detail</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="7" class="muted">no step has started yet</td></tr>`}</tbody></table>`;
}

function consumers(d: RunDetail, now: Date): Html {
  if (!d.consumers.length) return html`<p class="muted">No consumer was notified in this run.</p>`;
  const promoted = d.run.promotedAt?.getTime();
  // Why a consumer is not confirmed is a failure only once the run gave up on it (it ended, or is
  // on its failure path); while the run still waits for it, it is pending: muted, not red.
  const ended = d.run.finishedAt !== null;
  const failing = ended || (FAILURE_STEPS as readonly string[]).includes(d.run.step);
  const lastError = (e: string) =>
    html`<span class="${failing ? 'error' : 'muted'}" data-consumer-error="${failing ? 'failed' : 'pending'}">${e}</span>`;
  // A rollback tells every consumer the old version and waits for it before revoking the new one:
  // what each did then is its own column, shown once a rollback told anyone.
  const rolledBack = d.consumers.some((c) => c.rollbackNotifiedAt);
  const rollback = (c: RunDetail['consumers'][number]) => {
    if (!c.rollbackNotifiedAt) return html`<span class="muted">not told</span>`;
    if (c.rollbackConfirmedAt)
      return html`<span data-rollback="confirmed">old version confirmed ${time(c.rollbackConfirmedAt, now)}</span>`;
    const why = c.rollbackError ? `: ${c.rollbackError}` : '';
    return ended
      ? html`<span class="error" data-rollback="unconfirmed">old version not confirmed${why}</span>`
      : html`<span class="muted" data-rollback="pending">told the old version ${time(c.rollbackNotifiedAt, now)}, not confirmed yet${why}</span>`;
  };
  return html`<table class="grid"><thead><tr><th>Consumer</th><th>Wave</th><th>Notified</th><th>Confirmed</th><th>After promote</th><th>Version</th><th>Last error</th>${rolledBack ? html`<th>Rollback</th>` : ''}</tr></thead><tbody>
${d.consumers.map(
  (
    c,
  ) => html`<tr><td>${c.consumer}</td><td>${c.wave}</td><td>${time(c.notifiedAt, now)}</td><td>${c.confirmedAt ? time(c.confirmedAt, now) : html`<span class="muted">not yet</span>`}</td>
<td>${c.confirmedAt && promoted ? duration(c.confirmedAt.getTime() - promoted) : '-'}</td><td><code>${c.confirmedVersion ?? ''}</code></td><td>${c.lastError ? lastError(c.lastError) : ''}</td>${rolledBack ? html`<td>${rollback(c)}</td>` : ''}</tr>`,
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
${d.wait ? html`<p class="wait" data-wait>${waitSentence(d.wait, now)}</p>` : ''}
${r.error ? html`<p class="error" role="alert">${r.error}</p>` : ''}
<table class="facts">${fact('secret', secretLink(r.secretId))}${fact('target', d.targetKey ? targetLink(d.targetKey) : null)}${fact('trigger', r.trigger)}${fact('requested by', r.actor)}${fact('reason', r.reason)}
${fact('requested', time(r.createdAt, now))}${fact('started', time(r.startedAt, now))}${fact('promoted', time(r.promotedAt, now))}
${fact('grace until', time(r.graceUntil, now))}${fact('waiting until', time(r.waitUntil, now))}${fact('finished', time(r.finishedAt, now))}
${fact('took', r.finishedAt ? duration(r.finishedAt.getTime() - r.createdAt.getTime()) : null)}
${fact('steps run', String(r.totalAttempts))}${fact('old version', r.oldVersion ? html`<code>${r.oldVersion}</code>` : null)}${fact('new version', r.newVersion ? html`<code>${r.newVersion}</code>` : null)}
${fact('queue job', html`<a href="/queues/board/queue/${queue}/${r.id}">${queue} / ${r.id.slice(0, 8)}</a>`)}</table></section>
<h2>Timeline</h2><section id="timeline" data-live>${timeline(d, now)}</section>
<h2>Consumer confirmations</h2><section id="consumers" data-live>${consumers(d, now)}</section>
<h2>Audit</h2><section id="run-audit" data-live><table class="grid"><thead><tr><th>#</th><th>At</th><th>Actor</th><th>Action</th><th>Reason</th></tr></thead><tbody>
${d.audit.map((a) => html`<tr><td>${a.id}</td><td>${time(a.at, now)}</td><td>${a.actor}</td><td>${a.action}</td><td>${a.reason ?? ''}</td></tr>`)}</tbody></table></section>`,
  );
}
