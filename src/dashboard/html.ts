// HTML built from tagged templates: every interpolated value is escaped unless it is already Html,
// so a secret id, an owner or an error message can never inject markup into a page. The escaping
// is Hono's own `html` helper; this module keeps rotor's synchronous Html value on top of it.
import { html as honoHtml, raw as honoRaw } from 'hono/html';

/** Markup that is safe to insert as is (built by `html` or `raw`). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | boolean | null | undefined | Date | readonly Part[];

/** What Hono's helper should see: trusted Html raw, everything else as text it escapes. */
function toHono(value: Part): unknown {
  if (value === null || value === undefined || value === false) return null;
  if (value instanceof Html) return honoRaw(value.text);
  if (Array.isArray(value)) return value.map(toHono);
  if (value instanceof Date) return value.toISOString();
  // Hono renders `true` as nothing; rotor's templates have always said "true".
  return String(value);
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  const out = honoHtml(strings, ...values.map(toHono));
  // Only a Promise among the values makes the helper asynchronous, and none is ever passed.
  if (out instanceof Promise) throw new Error('html: an asynchronous value was interpolated');
  return new Html(out.toString());
}

/** For markup from a trusted source only (constants, other templates). */
export function raw(text: string): Html {
  return new Html(text);
}

/** A time as a <time> element: ISO in the attribute, a short UTC form as text, relative on hover. */
export function time(d: Date | null | undefined, now = new Date()): Html {
  if (!d) return html`<span class="muted">-</span>`;
  const iso = d.toISOString();
  return html`<time datetime="${iso}" title="${relative(d, now)}">${iso.slice(0, 19).replace('T', ' ')}Z</time>`;
}

/** "in 3d", "5m ago": coarse on purpose, for titles and tables. */
export function relative(d: Date, now = new Date()): string {
  const ms = d.getTime() - now.getTime();
  const text = duration(Math.abs(ms));
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return `${Math.max(0, Math.round(ms))}ms`;
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.round(h / 24)}d`;
}
