// The http rotator's template language: `{{ current.FIELD }}`, `{{ next.FIELD }}`,
// `{{ ref "env:NAME" }}`, `{{ secretId }}` and `{{ runId }}` in URLs, header values and JSON body
// strings. One parser, read by the schema (what validate reports) and by the requests (what is sent).
import { REF_PATTERN } from '../../src/rotator/params.js';
import { ROTOR_OWN_VARIABLE } from '../../src/trust-roots.js';

export type Placeholder =
  | { kind: 'field'; of: 'current' | 'next'; field: string; text: string }
  | { kind: 'ref'; ref: string; text: string }
  | { kind: 'id'; name: 'secretId' | 'runId'; text: string };

/** A template split into its parts: literal text and placeholders, in order. */
export type Part = string | Placeholder;

/** Field names of a stored value: what `extract` keys and `{{ current.FIELD }}` use. */
export const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const OPEN = '{{';
const CLOSE = '}}';
const FIELD = /^(current|next)\.([A-Za-z_][A-Za-z0-9_]*)$/;
const REF = /^ref\s+"([^"]*)"$/;

export const PLACEHOLDER_FORMS = '{{ current.FIELD }}, {{ next.FIELD }}, {{ ref "env:NAME" }}, {{ secretId }} or {{ runId }}';

/** What is wrong with one placeholder, in words for validate (never a value: templates hold none). */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Splits `text` into literal parts and placeholders; throws TemplateError on an unknown or unclosed one. */
export function parseTemplate(text: string): Part[] {
  const parts: Part[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf(OPEN, at);
    if (open < 0) break;
    const close = text.indexOf(CLOSE, open + OPEN.length);
    if (close < 0) throw new TemplateError(`has \`${OPEN}\` without a closing \`${CLOSE}\``);
    if (open > at) parts.push(text.slice(at, open));
    parts.push(placeholder(text.slice(open, close + CLOSE.length)));
    at = close + CLOSE.length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

function placeholder(text: string): Placeholder {
  const inner = text.slice(OPEN.length, -CLOSE.length).trim();
  const field = FIELD.exec(inner);
  if (field) return { kind: 'field', of: field[1] as 'current' | 'next', field: field[2]!, text };
  if (inner === 'secretId' || inner === 'runId') return { kind: 'id', name: inner, text };
  const ref = REF.exec(inner);
  if (ref) {
    const target = ref[1]!;
    if (!REF_PATTERN.test(target)) {
      throw new TemplateError(`has ${text}, which names no reference: write env:NAME, file:PATH or aws-sm:ID between the quotes`);
    }
    // A policy must not be able to send rotor's own settings (the master key) to a URL of its choosing.
    if (target.startsWith('env:') && ROTOR_OWN_VARIABLE.test(target.slice(4))) {
      throw new TemplateError(`has ${text}, one of rotor's own settings (ROTOR_*), which a policy can never send anywhere`);
    }
    return { kind: 'ref', ref: target, text };
  }
  throw new TemplateError(`has ${text}, which is not a placeholder: write ${PLACEHOLDER_FORMS}`);
}

/** Every placeholder of a template, or of the strings inside a JSON body. */
export function placeholdersOf(value: unknown): Placeholder[] {
  if (typeof value === 'string') return parseTemplate(value).filter((p): p is Placeholder => typeof p !== 'string');
  if (Array.isArray(value)) return value.flatMap(placeholdersOf);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(placeholdersOf);
  return [];
}

/** What placeholders stand for in one request. */
export interface Scope {
  current?: Readonly<Record<string, string | number>>;
  next?: Readonly<Record<string, string | number>>;
  /** Resolved references, by reference text. */
  refs: ReadonlyMap<string, string>;
  secretId: string;
  runId: string;
}

/**
 * `text` with its placeholders filled in. `encode` is applied to each value (encodeURIComponent in
 * URLs, so a value cannot change the path or add a query); literal text is kept as written.
 */
export function render(text: string, scope: Scope, encode: (v: string) => string = (v) => v): string {
  return parseTemplate(text)
    .map((p) => (typeof p === 'string' ? p : encode(valueOf(p, scope))))
    .join('');
}

/** A JSON body with every string rendered; keys, numbers and booleans are kept. */
export function renderBody(body: unknown, scope: Scope): unknown {
  if (typeof body === 'string') return render(body, scope);
  if (Array.isArray(body)) return body.map((b) => renderBody(b, scope));
  if (body !== null && typeof body === 'object') {
    return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, renderBody(v, scope)]));
  }
  return body;
}

function valueOf(p: Placeholder, scope: Scope): string {
  switch (p.kind) {
    case 'id':
      return scope[p.name];
    case 'ref': {
      const v = scope.refs.get(p.ref);
      if (v === undefined) throw new Error(`reference ${p.ref} was not resolved before rendering`);
      return v;
    }
    case 'field': {
      const v = scope[p.of]?.[p.field];
      // Validate holds every placeholder to a field create extracts: a gap here is a bug or a store
      // value written by something else. Named without the value.
      if (v === undefined) throw new TemplateError(`${p.text} has no value: the ${p.of} credential has no field ${p.field}`);
      return String(v);
    }
  }
}
