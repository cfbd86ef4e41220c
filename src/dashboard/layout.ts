// The page frame shared by every dashboard page, and the small pieces pages are built from.
import type { RunWait } from '../state/run-waits.js';
import { html, time, type Html } from './html.js';

/** The pages of the nav bar, in order: key, path, text (one line each). */
const NAV = [
  ['inventory', '/', 'Inventory'],
  ['calendar', '/calendar', 'Calendar'],
  ['targets', '/targets', 'Targets'],
  ['audit', '/audit', 'Audit'],
  ['queues', '/queues', 'Queues'],
  ['incidents', '/incidents', 'Incidents'],
] as const;

export interface PageMeta {
  title: string;
  /** Which nav entry is current. */
  nav: (typeof NAV)[number][0] | 'none';
  actionsEnabled: boolean;
}

export function layout(meta: PageMeta, body: Html): Html {
  const links = NAV.map(([key, href, text]) => html`<a href="${href}"${key === meta.nav ? html` aria-current="page"` : ''}>${text}</a>`);
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${meta.title} · rotor</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/style.css"><script src="/static/app.js" defer></script></head>
<body><header class="top"><a class="brand" href="/">rotor</a><nav>${links}<a href="/queues/board">bull-board</a><a href="/metrics">Metrics</a><a href="/api">API</a></nav>
<span class="mode" title="${meta.actionsEnabled ? 'an operator token is configured: emergency rotation needs it' : 'no operator token configured: read-only'}">${meta.actionsEnabled ? 'actions need the operator token' : 'read-only'}</span>
<span id="live" class="live" title="updates as runs progress">live</span></header>
<main>${body}</main></body></html>`;
}

const STATUS_TEXT: Record<string, string> = {
  'needs-attention': 'needs attention',
  'due-soon': 'due soon',
};

export function statusBadge(status: string): Html {
  return html`<span class="badge s-${status}">${STATUS_TEXT[status] ?? status}</span>`;
}

export function secretLink(id: string): Html {
  return html`<a href="/secrets/${id}">${id}</a>`;
}

/** A target's page: its key (postgres://db:5432/app, redis://...) is one path segment. */
export function targetLink(key: string, text: string = key): Html {
  return html`<a href="/targets/${encodeURIComponent(key)}" class="target">${text}</a>`;
}

/** What an active run waits for and until when, as `rotor status` says it (src/cli/format/wait.ts). */
export function waitSentence(w: RunWait, now: Date): Html {
  const until = html`until ${time(w.until, now)}`;
  if (w.kind === 'stagger') {
    // The per-target stagger: one run starts per target per interval (src/engine/scheduler.ts).
    const behind = w.behind ? html`run ${runLink(w.behind.runId)} (${w.behind.secretId}, ${w.behind.state})` : 'an earlier run';
    return html`waits ${until} for ${behind} on the same target (${targetLink(w.target)})`;
  }
  if (w.step === 'grace') return html`grace ${until}`;
  return html`paused at ${w.step} ${until}`;
}

export function runLink(id: string, text = id.slice(0, 8)): Html {
  return html`<a href="/runs/${id}" title="${id}">${text}</a>`;
}

/** A query string from the current filters, with some changed (undefined or '' drops a key). */
export function withQuery(base: Record<string, string | number | undefined>, change: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...base, ...change })) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function errorPage(meta: PageMeta, message: string): Html {
  return layout(meta, html`<h1>${meta.title}</h1><p class="error">${message}</p><p><a href="/">Back to the inventory</a></p>`);
}
