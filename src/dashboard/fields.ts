// Structured values (a rotator's params, a step's detail) as labelled fields: a definition list
// whose labels are the keys in words, times with their relative form, durations read as such,
// lists as comma-separated words, nested maps as nested lists. Never raw JSON wrapping mid-word.
import { scrub } from '../redact.js';
import { duration, html, time, type Html } from './html.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** `graceUntil` → `grace until`, `oldSessions` → `old sessions`, `max_conn` → `max conn`. */
export function label(key: string): string {
  return key
    .replace(/Ms$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase();
}

function value(key: string, v: unknown, now: Date, depth: number): Html | string {
  if (v === null || v === undefined) return html`<span class="muted">-</span>`;
  if (typeof v === 'number') return /Ms$/.test(key) ? duration(v) : String(v);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') return ISO.test(v) ? time(new Date(v), now) : html`<code>${scrub(v)}</code>`;
  if (Array.isArray(v)) {
    if (!v.length) return html`<span class="muted">none</span>`;
    if (v.every((x) => typeof x !== 'object' || x === null))
      return html`${v.map((x, i) => html`${i ? ', ' : ''}<code>${scrub(String(x))}</code>`)}`;
    return html`<ol class="fields-list">${v.map((x) => html`<li>${value(key, x, now, depth + 1)}</li>`)}</ol>`;
  }
  if (typeof v === 'object')
    return depth > 4 ? html`<code>${scrub(JSON.stringify(v))}</code>` : fields(v as Record<string, unknown>, now, depth + 1);
  return scrub(String(v));
}

/** A map as labelled fields; empty: nothing. */
export function fields(obj: Record<string, unknown> | null | undefined, now: Date, depth = 0): Html {
  const entries = Object.entries(obj ?? {}).filter(([, v]) => v !== undefined);
  if (!entries.length) return html``;
  return html`<dl class="fields">${entries.map(([k, v]) => html`<dt>${label(k)}</dt><dd>${value(k, v, now, depth)}</dd>`)}</dl>`;
}
