// Reading fields out of an API's JSON answer with JSONPath (jsonpath-plus, its script evaluation
// off: a policy's expression is data, never code run in rotor).
import { JSONPath } from 'jsonpath-plus';

/**
 * Why `path` is not a JSONPath rotor accepts, or undefined. jsonpath-plus reads almost any text
 * (an unclosed `[` silently selects the parent), so the shape is checked here: it starts at the
 * root `$`, brackets and quotes close, and there are no filter or script expressions (`?(...)`,
 * `(...)`), which would need evaluation.
 */
export function jsonPathProblem(path: string): string | undefined {
  if (!path.startsWith('$')) return 'must start at the root: $.field, $.data[0].id or $..id';
  if (path.includes('('))
    return 'uses a filter or script expression, which rotor does not evaluate: select by name or index ($.data[0].id)';
  let depth = 0;
  let quote: string | undefined;
  for (const c of path) {
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') {
      if (depth === 0) return "has a quote outside brackets: write $['name with spaces']";
      quote = c;
    } else if (c === '[') {
      if (++depth > 1) return 'has a `[` inside brackets';
    } else if (c === ']') {
      if (--depth < 0) return 'has a `]` without its `[`';
    }
  }
  if (quote) return 'has a quote that does not close';
  if (depth !== 0) return 'has a `[` that does not close';
  if (/\.\[|\.$|\[\]|\.{3}/.test(path)) return 'has an empty step (`.[`, `[]`, a trailing `.`)';
  try {
    JSONPath({ path, json: {}, eval: false, wrap: true });
  } catch (err) {
    return `cannot be read: ${(err as Error).message}`;
  }
  return undefined;
}

/** Every value `path` selects in `json` (an empty list when it selects nothing). */
export function select(json: unknown, path: string): unknown[] {
  const found: unknown = JSONPath({ path, json: json as object, eval: false, wrap: true });
  return Array.isArray(found) ? found : [];
}
