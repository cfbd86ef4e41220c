// HTML built from tagged templates: every interpolated value is escaped unless it is already Html,
// so a secret id, an owner or an error message can never inject markup into a page.

/** Markup that is safe to insert as is (built by `html` or `raw`). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Part = Html | string | number | boolean | null | undefined | Date | readonly Part[];

function render(value: Part): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value instanceof Date) return escapeHtml(value.toISOString());
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
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
