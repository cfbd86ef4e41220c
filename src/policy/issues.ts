// zod issues turned into policy problems: one per unknown key (located at the key, with the
// closest known one), missing fields at their parent, wrong values at the value, in plain words.
import type { z } from 'zod';
import type { ProblemCode } from './problems.js';
import { suggestion } from './suggest.js';
import { knownKeysAt } from './zod-introspect.js';
import { FAIL, fastParser } from './zod-fast.js';
import type { PathSegment, Position } from './yaml/source.js';

/** A problem before it has a file position: the loader locates `path` in the file. */
export interface RawProblem {
  path: PathSegment[];
  at: 'key' | 'value';
  code: ProblemCode;
  message: string;
  hint?: string;
  /** Already known position (YAML errors); otherwise `path` is located. */
  pos?: Position;
}

/** Where in the policy the validated value sits, and how its fields are named in messages. */
export interface Place {
  /** Path of the validated value from the top of the file, e.g. ['secrets', 3, 'store']. */
  path: PathSegment[];
  /** How the value is named in messages, e.g. `store` or `consumers[1]` (empty for a secret). */
  label: string;
  /** What the value is, for unknown-field messages: `secret`, `store`, `class`. */
  subject: string;
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (typeof v === 'string') return `the text "${v.length > 40 ? `${v.slice(0, 37)}...` : v}"`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return 'a list';
  return 'a map';
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  tuple: 'a list',
  object: 'a map (key: value)',
  record: 'a map (key: value)',
};

/** Per-parse error map: words zod's own issues; schema-level messages (ours) take precedence. */
export function wording(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      return `must be ${EXPECTED[iss.expected] ?? iss.expected}, not ${describeValue(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'array') return `needs at least ${iss.minimum} ${Number(iss.minimum) === 1 ? 'item' : 'items'}`;
      if (iss.origin === 'string') return Number(iss.minimum) === 1 ? 'must not be empty' : `must be at least ${iss.minimum} characters`;
      return `must be at least ${iss.minimum}${iss.inclusive === false ? ' (exclusive)' : ''}`;
    case 'too_big':
      if (iss.origin === 'array') return `takes at most ${iss.maximum} items`;
      if (iss.origin === 'string') return `must be at most ${iss.maximum} characters`;
      return `must be at most ${iss.maximum}`;
    case 'invalid_value':
      return iss.values.length === 1
        ? `must be \`${String(iss.values[0])}\`, not ${describeValue(iss.input)}`
        : `must be one of ${iss.values.map(String).join(', ')}, not ${describeValue(iss.input)}`;
    case 'invalid_format':
      return 'has the wrong format';
    default:
      return 'is not valid here';
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** `target.users[1]`: how a field is named in messages, from the place's label. */
function label(place: Place, path: readonly PropertyKey[]): string {
  let text = place.label;
  for (const seg of path) text += typeof seg === 'number' ? `[${seg}]` : `${text ? '.' : ''}${String(seg)}`;
  return text;
}

const PARSE_OPTIONS = { error: wording };

/**
 * Validates `value` against `schema`; on failure adds problems and returns undefined. With
 * `pastUnknownKeys`, a value whose only problems are unknown fields is still returned (as
 * written), so the checks that follow can report the rest at once; only for schemas that
 * transform nothing.
 */
export function check<T>(schema: z.ZodType<T>, value: unknown, place: Place, out: RawProblem[], pastUnknownKeys = false): T | undefined {
  // Nearly every value is valid: the fast parser says so for a fraction of safeParse's cost.
  const fast = fastParser(schema);
  if (fast) {
    const parsed = fast(value);
    if (parsed !== FAIL) return parsed as T;
  }
  const result = schema.safeParse(value, PARSE_OPTIONS);
  if (result.success) return result.data;
  for (const issue of result.error.issues) out.push(...toProblems(issue, schema, value, place));
  if (pastUnknownKeys && result.error.issues.every((i) => i.code === 'unrecognized_keys')) return value as T;
  return undefined;
}

/** Unknown fields reported one by one per map; the rest are counted in the last one's message. */
const MAX_UNKNOWN_KEYS_SHOWN = 20;

function toProblems(issue: z.core.$ZodIssue, schema: z.ZodType, value: unknown, place: Place): RawProblem[] {
  const rel = issue.path as PathSegment[];
  const path = [...place.path, ...rel];
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(schema, rel, value);
    const where = rel.length ? `\`${label(place, rel)}\`` : place.subject;
    // Each problem is located in the file; a map of 50,000 unknown keys must not cost 50,000 lookups.
    const shown = issue.keys.slice(0, MAX_UNKNOWN_KEYS_SHOWN);
    const rest = issue.keys.length - shown.length;
    return shown.map((key, i) => ({
      path: [...path, key],
      at: 'key' as const,
      code: 'unknown-field' as const,
      message:
        rest > 0 && i === shown.length - 1
          ? `unknown field \`${key}\` in ${where}, and ${rest} more unknown field(s) after it`
          : `unknown field \`${key}\` in ${where}`,
      hint: suggestion(key, known, 'fields here'),
    }));
  }
  const actual = valueAt(value, rel);
  if (issue.code === 'invalid_union' && issue.discriminator && 'options' in issue && issue.options) {
    // A defaulted discriminator (mysql's strategy) lists `undefined` among the options: not something to write.
    const options = issue.options.filter((o) => o !== undefined).map(String);
    if (actual === undefined) {
      return [missing(place, rel, `pick one: ${options.join(', ')}`)];
    }
    return [
      {
        path,
        at: 'value',
        code: 'invalid-value',
        message: `\`${label(place, rel)}\` must be one of ${options.join(', ')}, not ${describeValue(actual)}`,
        hint: typeof actual === 'string' ? suggestion(actual, options, 'choose from') : `choose from ${options.join(', ')}`,
      },
    ];
  }
  if (actual === undefined && issue.code === 'invalid_type') return [missing(place, rel)];
  const hint = issue.code === 'invalid_type' ? typeHint(issue.expected, actual) : undefined;
  return [
    {
      path,
      at: 'value',
      code: issue.code === 'invalid_type' ? 'wrong-type' : 'invalid-value',
      message: `\`${label(place, rel)}\` ${issue.message}`,
      ...(hint ? { hint } : {}),
    },
  ];
}

/** What to write instead of a value of the wrong type. */
function typeHint(expected: string, actual: unknown): string | undefined {
  if (
    typeof actual === 'string' &&
    (expected === 'number' || expected === 'int' ? /^-?\d+(\.\d+)?$/.test(actual) : expected === 'boolean' && /^(true|false)$/.test(actual))
  ) {
    return 'remove the quotes: YAML reads a quoted value as text';
  }
  const want = EXPECTED[expected];
  return want ? `write ${want} here` : undefined;
}

/** Located at the key of the map that lacks the field (`target:`), else at the map itself. */
function missing(place: Place, rel: PathSegment[], hint?: string): RawProblem {
  const parent = rel.slice(0, -1);
  const field = String(rel[rel.length - 1]);
  const path = [...place.path, ...parent];
  return {
    path,
    at: typeof path[path.length - 1] === 'string' ? 'key' : 'value',
    code: 'missing-field',
    message: `missing required field \`${label(place, rel)}\`${parent.length ? '' : ` in ${place.subject}`}`,
    hint: hint ?? `add \`${field}:\`${parent.length ? ` under \`${label(place, parent)}\`` : ' to it'}`,
  };
}
