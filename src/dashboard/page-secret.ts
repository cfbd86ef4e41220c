// The secret page: policy (references only), versions and stages (never values), due dates, run
// history, and the emergency form when an operator token is configured.
import type { ResolvedSecret } from '../policy/types.js';
import type { SecretDetail } from './details.js';
import { fields } from './fields.js';
import { duration, html, time, type Html } from './html.js';
import { layout, runLink, statusBadge, targetLink, waitSentence, type PageMeta } from './layout.js';

export interface EmergencyFormState {
  csrf: string;
  /** What the last attempt said (a refusal or a validation problem), with the operator's input kept. */
  error?: string | undefined;
  operator?: string | undefined;
  reason?: string | undefined;
}

function scheduleText(p: ResolvedSecret): string {
  return p.schedule.kind === 'interval' ? `every ${p.schedule.text}` : `cron ${p.schedule.expression} (${p.schedule.tz})`;
}

function policyFacts(d: SecretDetail, now: Date): Html {
  const p = d.policy;
  const row = (k: string, v: Html | string) => html`<tr><th>${k}</th><td>${v}</td></tr>`;
  return html`<table class="facts">
${row('class', p.className ?? '-')}${row('owner', p.owner ?? '-')}${p.description ? row('description', p.description) : ''}
${row('tags', p.tags.length ? html`${p.tags.map((t) => html`<span class="tag">${t}</span>`)}` : '-')}
${row('rotator', html`<b>${p.rotator.name}</b>${fields(p.rotator.params, now)}`)}
${row('target', targetLink(d.targetKey))}
${row('store', html`${p.store.backend} <code>${p.store.location}</code>`)}
${row('schedule', scheduleText(p))}${row('rotation window', p.window?.text ?? 'any time')}
${row('grace', `${duration(p.graceMs)} (emergency ${duration(p.emergencyGraceMs)})`)}
${row('retries', `${p.retry.attempts} tries per step, backoff ${duration(p.retry.backoffMs)} to ${duration(p.retry.maxBackoffMs)}`)}
${row('drain', `${p.drain.mode}, up to ${duration(p.drain.timeoutMs)}`)}
${row('policy', html`<code title="${p.source.file}">${d.policyFile}:${p.source.line}:${p.source.col}</code>`)}
</table>`;
}

function consumersTable(p: ResolvedSecret): Html {
  if (!p.consumers.length) return html`<p class="muted">No consumers declared.</p>`;
  return html`<table class="grid"><thead><tr><th>Consumer</th><th>Type</th><th>Wave</th><th>Confirm within</th><th>Cache TTL</th></tr></thead><tbody>
${p.consumers.map((c) => html`<tr><td>${c.name}</td><td>${c.type}</td><td>${c.wave}</td><td>${duration(c.confirmTimeoutMs)}</td><td>${c.cacheTtlMs === undefined ? '-' : duration(c.cacheTtlMs)}</td></tr>`)}
</tbody></table>`;
}

function emergencyForm(d: SecretDetail, meta: PageMeta, form: EmergencyFormState | undefined): Html {
  if (d.item.status === 'retired') return html`<p class="muted">Retired: it can no longer be rotated.</p>`;
  if (!meta.actionsEnabled || !form) {
    return html`<p class="muted">Emergency rotation is disabled: no operator token is configured (ROTOR_DASHBOARD_TOKEN). Everything is visible; nothing can be done.</p>`;
  }
  return html`<form id="emergency" class="danger" method="post" action="/secrets/${d.item.id}/emergency" autocomplete="off">
<p>Starts a rotation now: it jumps the routine queue, ignores the rotation window and uses the emergency grace
(${duration(d.policy.emergencyGraceMs)}). The new credential is still verified and every consumer must still confirm before the old one is revoked.</p>
${form.error ? html`<p class="error" role="alert">${form.error}</p>` : ''}
<input type="hidden" name="csrf" value="${form.csrf}">
<label>Your name <input name="operator" required pattern="[A-Za-z0-9][A-Za-z0-9._@\\-]{0,63}" value="${form.operator ?? ''}"></label>
<label>Operator token <input name="token" type="password" required autocomplete="current-password"></label>
<label class="wide">Reason <input name="reason" required maxlength="500" value="${form.reason ?? ''}" placeholder="e.g. leaked in incident 123"></label>
<label class="wide"><span>Type <code>${d.item.id}</code> to confirm</span> <input name="confirm" required data-must-equal="${d.item.id}"></label>
<label class="wide"><input type="checkbox" name="overrideFreeze"> Start even during a freeze window (recorded in the audit trail)</label>
<button type="submit" class="danger">Rotate now (emergency)</button></form>`;
}

export function secretPage(meta: PageMeta, d: SecretDetail, now: Date, form?: EmergencyFormState): Html {
  const { item, policy } = d;
  const versions = d.versions
    ? d.versions.length
      ? html`<table class="grid"><thead><tr><th>Version</th><th>Stages</th><th>Created</th></tr></thead><tbody>
${d.versions.map((v) => html`<tr><td><code>${v.versionId}</code></td><td>${v.stages.map((s) => html`<span class="stage st-${s}">${s}</span>`)}</td><td>${time(v.createdAt, now)}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">No versions in the store yet: the secret was never rotated.</p>`
    : html`<p class="muted">Versions unavailable: ${d.versionsError}</p>`;
  const runs = d.runs.length
    ? html`<table class="grid"><thead><tr><th>Run</th><th>Requested</th><th>Trigger</th><th>By</th><th>Reason</th><th>State</th><th>Step</th><th>Steps run</th><th>Took</th></tr></thead><tbody>
${d.runs.map(
  (
    r,
  ) => html`<tr><td>${runLink(r.id)}</td><td>${time(r.createdAt, now)}</td><td>${r.trigger}</td><td>${r.actor}</td><td>${r.reason ?? ''}</td>
<td>${statusBadge(r.state)}${r.outcome ? html` ${r.outcome}` : ''}</td><td>${r.step}</td><td>${r.totalAttempts}</td><td>${r.finishedAt ? duration(r.finishedAt.getTime() - r.createdAt.getTime()) : '-'}</td></tr>`,
)}</tbody></table>`
    : html`<p class="muted">No runs yet.</p>`;
  return layout(
    meta,
    html`<h1><span class="muted">secret</span> ${item.id}</h1>
<section id="summary" data-live><p>${statusBadge(item.status)}
${item.activeRun ? html` run ${runLink(item.activeRun.id)} at <b>${item.activeRun.step}</b> (${item.activeRun.state}, ${item.activeRun.trigger})` : ''}
${d.wait ? html`: <span data-wait>${waitSentence(d.wait, now)}</span>` : ''}</p>
<table class="facts"><tr><th>last success</th><td>${time(item.lastSuccessAt, now)}</td></tr><tr><th>next due</th><td>${time(item.nextDueAt, now)}</td></tr>
<tr><th>overdue since</th><td>${time(item.overdueSince, now)}</td></tr>${d.retiredAt ? html`<tr><th>retired</th><td>${time(d.retiredAt, now)}</td></tr>` : ''}</table></section>
<div class="cols"><section><h2>Policy</h2>${policyFacts(d, now)}<h2>Consumers</h2>${consumersTable(policy)}</section>
<section><h2>Versions</h2><div id="versions" data-live>${versions}</div><h2>Emergency rotation</h2>${emergencyForm(d, meta, form)}</section></div>
<h2>Runs</h2><section id="runs" data-live>${runs}</section>`,
  );
}
