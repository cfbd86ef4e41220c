// HTML built from tagged templates: every interpolated value is escaped unless it is already Html,
// so a secret id, an owner or an error message can never inject markup into a page. The escaping
// is Hono's own `html` helper; this module keeps rotor's synchronous Html value on top of it.
import { html as honoHtml, raw as honoRaw } from 'hono/html';
import { absolute, duration as twoUnits, relative } from '../time-text.js';

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

/**
 * A time as an on-call engineer reads it: the UTC time, and beside it how long ago or how soon
 * ("3d ago", "in 1m 40s"), as `rotor status` prints it (src/time-text.ts). ISO in the attribute.
 */
export function time(d: Date | null | undefined, now = new Date()): Html {
  if (!d) return html`<span class="muted">-</span>`;
  return html`<time datetime="${d.toISOString()}">${absolute(d)}</time> <span class="rel">${relative(d, now)}</span>`;
}

/** The CLI's durations (`1m 40s`), and milliseconds under a second: steps often take 37ms. */
export function duration(ms: number): string {
  return Math.abs(ms) < 1000 ? `${Math.max(0, Math.round(ms))}ms` : twoUnits(ms);
}
