// The incident pages: the list of incidents with the form that starts one (operator token, the
// number of secrets typed to confirm, and an override of freezes offered when some of them are
// frozen), and one incident's live progress, failures first, with its audit rows.
import { countPhases, itemPhase, type ItemPhase } from '../engine/incident.js';
import type { AuditRow } from '../state/audit.js';
import type { IncidentItem, IncidentRow } from '../state/incidents.js';
import { html, time, type Html } from './html.js';
import { layout, runLink, secretLink, statusBadge, type PageMeta } from './layout.js';

export interface IncidentFormState {
  csrf: string;
  error?: string | undefined;
  /** The operator's input, kept after a refusal. */
  values?: Record<string, string | undefined>;
  /** From the plan, once a submit without the count was answered: how many of its secrets are frozen now. */
  frozen?: { secrets: number; of: number } | undefined;
}

/**
 * The freeze override: offered only when the plan has secrets inside a freeze now (or the operator
 * ticked it before a refusal), never ticked by default. Without it they are not started.
 */
function freezeOverride(form: IncidentFormState): Html {
  const ticked = form.values?.overrideFreeze === 'on';
  const f = form.frozen;
  if (!f?.secrets && !ticked) return html``;
  const one = f?.secrets === 1;
  const count = f?.secrets
    ? html`<p id="incident-frozen" data-frozen="${f.secrets}"><b>${f.secrets} of the ${f.of} selected secrets ${one ? 'is' : 'are'} inside a freeze window now.</b> Without the override ${one ? 'it is' : 'they are'} not started (listed as needing attention).</p>`
    : '';
  return html`${count}
<label class="wide"><input type="checkbox" name="overrideFreeze"${ticked ? html` checked` : ''}> Override freezes: start runs inside freeze windows too (each run audited as run.freeze-overridden)</label>`;
}

const FIELDS: Array<[name: string, label: string, hint: string]> = [
  ['tags', 'Tags', 'e.g. ci deploy'],
  ['owners', 'Owners', 'e.g. payments'],
  ['classes', 'Classes', ''],
  ['targets', 'Targets', 'target keys'],
  ['consumers', 'Consumers', 'consumer names'],
  ['ids', 'Secret ids', 'one or more ids'],
];

function startForm(meta: PageMeta, form: IncidentFormState | undefined): Html {
  if (!meta.actionsEnabled || !form) {
    return html`<p class="muted">Starting an incident is disabled: no operator token is configured (ROTOR_DASHBOARD_TOKEN).</p>`;
  }
  const v = form.values ?? {};
  return html`<form id="incident-start" class="danger" method="post" action="/incidents" autocomplete="off">
<p>Rotates every secret any of these select (a union), dependencies first, with at most the given number of runs per target at once. Submit once without a count to see how many secrets the selection has.</p>
${form.error ? html`<p class="error" role="alert">${form.error}</p>` : ''}
<input type="hidden" name="csrf" value="${form.csrf}">
<label>Your name <input name="operator" required pattern="[A-Za-z0-9][A-Za-z0-9._@\\-]{0,63}" value="${v.operator ?? ''}"></label>
<label>Operator token <input name="token" type="password" required autocomplete="current-password"></label>
<label class="wide">Reason <input name="reason" required maxlength="500" value="${v.reason ?? ''}" placeholder="e.g. CI runner ci-7 compromised"></label>
${FIELDS.map(([name, label, hint]) => html`<label>${label} <input name="${name}" value="${v[name] ?? ''}" placeholder="${hint}"></label>`)}
<label>Runs per target <input name="perTarget" inputmode="numeric" value="${v.perTarget ?? '2'}"></label>
<label>Type the number of secrets to confirm <input name="confirm" inputmode="numeric" value=""></label>
${freezeOverride(form)}<button type="submit" class="danger">Start the incident</button></form>`;
}

export function incidentsPage(meta: PageMeta, incidents: IncidentRow[], now: Date, form?: IncidentFormState): Html {
  return layout(
    meta,
    html`<h1>Incidents</h1>
<section id="incidents" data-live><table class="grid"><thead><tr><th>Incident</th><th>State</th><th>By</th><th>Reason</th><th>Started</th><th>Ended</th></tr></thead><tbody>
${
  incidents.length
    ? incidents.map(
        (i) =>
          html`<tr data-incident="${i.id}"><td><a href="/incidents/${i.id}"><code>${i.id.slice(0, 8)}</code></a></td><td>${statusBadge(i.state)}</td><td>${i.actor}</td><td>${i.reason}</td><td>${time(i.startedAt, now)}</td><td>${time(i.endedAt, now)}</td></tr>`,
      )
    : html`<tr><td colspan="6" class="muted">no incident yet</td></tr>`
}</tbody></table></section>
<h2>Start an incident</h2>${startForm(meta, form)}`,
  );
}

/** Failures first, then what is in flight, then the rest, each in plan order. */
const PHASE_ORDER: ItemPhase[] = ['needs-attention', 'rotating', 'waiting-on-consumers', 'pending', 'done', 'not-started'];

export function incidentPage(meta: PageMeta, incident: IncidentRow, items: IncidentItem[], audit: AuditRow[], now: Date): Html {
  const c = countPhases(items);
  const ended = c.done + c['needs-attention'] + c['not-started'];
  const pct = c.total ? Math.round((ended / c.total) * 100) : 100;
  const sorted = [...items].sort(
    (a, b) => PHASE_ORDER.indexOf(itemPhase(a)) - PHASE_ORDER.indexOf(itemPhase(b)) || a.position - b.position,
  );
  const why = (i: IncidentItem) =>
    itemPhase(i) === 'needs-attention' ? (i.skipped ?? i.runError ?? 'the run needs attention') : (i.skipped ?? '');
  return layout(
    meta,
    html`<h1><span class="muted">incident</span> <code>${incident.id}</code></h1>
<section id="incident-summary" data-live><p>${statusBadge(incident.state)} started ${time(incident.startedAt, now)} by <b>${incident.actor}</b>${incident.endedAt ? html`, ended ${time(incident.endedAt, now)}` : ''}</p>
<p>Reason: ${incident.reason}. At most ${String(incident.perTarget)} runs per target at once.</p>
${incident.overrideFreeze ? html`<p data-override-freeze><span class="badge">overrides freezes</span> its runs start inside freeze windows too, each audited as run.freeze-overridden.</p>` : ''}
<p><progress id="incident-progress" max="${String(c.total)}" value="${String(ended)}">${String(pct)}%</progress> <span data-ended="${String(ended)}">${String(ended)}/${String(c.total)}</span></p>
<table class="facts"><tr><th>done</th><td data-count="done">${String(c.done)}</td></tr><tr><th>rotating</th><td data-count="rotating">${String(c.rotating)}</td></tr>
<tr><th>waiting on consumers</th><td data-count="waiting-on-consumers">${String(c['waiting-on-consumers'])}</td></tr><tr><th>needs attention</th><td data-count="needs-attention">${String(c['needs-attention'])}</td></tr>
<tr><th>pending</th><td data-count="pending">${String(c.pending)}</td></tr><tr><th>not started</th><td data-count="not-started">${String(c['not-started'])}</td></tr></table></section>
<h2>Secrets</h2><section id="incident-secrets" data-live><table class="grid"><thead><tr><th>Secret</th><th>Phase</th><th>Target</th><th>Run</th><th>Why</th></tr></thead><tbody>
${sorted.map(
  (i) =>
    html`<tr data-secret="${i.secretId}" data-phase="${itemPhase(i)}"><td>${secretLink(i.secretId)}</td><td>${statusBadge(itemPhase(i))}</td><td><code>${i.targetKey}</code></td><td>${i.runId ? runLink(i.runId) : ''}</td><td>${why(i) ? html`<span class="${itemPhase(i) === 'needs-attention' ? 'error' : 'muted'}">${why(i)}</span>` : ''}</td></tr>`,
)}</tbody></table></section>
<h2>Audit</h2><section id="incident-audit" data-live><table class="grid"><thead><tr><th>#</th><th>At</th><th>Actor</th><th>Action</th><th>Secret</th><th>Reason</th></tr></thead><tbody>
${audit.map((a) => html`<tr><td>${a.id}</td><td>${time(a.at, now)}</td><td>${a.actor}</td><td>${a.action}</td><td>${a.secretId ?? ''}</td><td>${a.reason ?? ''}</td></tr>`)}</tbody></table></section>`,
  );
}
