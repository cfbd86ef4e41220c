// A fast yes for zod schemas on valid input. safeParse spends most of its time on machinery
// (payload objects, result wrappers, per-key bookkeeping) that a valid value never needs; across
// 100k secrets that is seconds. fastParser(schema) walks the schema's definition once and returns
// a function that gives zod's output for a value it is sure zod accepts, or FAIL for anything else,
// and then zod itself runs and words the problems. So it can only ever say yes where zod says yes:
// leaf types (strings, numbers, enums...) and every check (regex, min, refine) run zod's own code;
// only the walk through objects, arrays, tuples, records, optionals, defaults and discriminated
// unions is done here, and any schema part it does not know (transforms, pipes, lazies, plain
// unions) leaves the whole schema to zod. test/unit/policy/zod-fast.test.ts holds it to zod.
import type { z } from 'zod';

export const FAIL: unique symbol = Symbol('zod-fast: not surely valid');
type Fast = (value: unknown) => unknown;

/** The parts of zod 4's internals this reads: the definition, optionality, checks and run. */
interface Internals {
  def: Def;
  optin?: 'optional' | 'defaulted';
  optout?: 'optional';
  traits: Set<string>;
  propValues?: Record<string, Set<unknown>>;
  run(payload: Payload, ctx: object): Payload | Promise<Payload>;
}
interface Def {
  type: string;
  checks?: Check[];
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  element?: z.ZodType;
  items?: z.ZodType[];
  rest?: z.ZodType | null;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  mode?: string;
  options?: z.ZodType[];
  discriminator?: string;
  unionFallback?: boolean;
}
interface Check {
  _zod: { def: { when?: (payload: Payload) => boolean }; check(payload: Payload): unknown };
}
interface Payload {
  value: unknown;
  issues: unknown[];
}

const internals = (schema: z.ZodType) => (schema as unknown as { _zod: Internals })._zod;
const CTX = Object.freeze({ async: false });
/** Types whose parse looks at the value alone: zod's own run decides them, checks included. */
const LEAVES = new Set(['string', 'number', 'boolean', 'literal', 'enum', 'unknown', 'any', 'null']);

const compiled = new WeakMap<z.ZodType, Fast | null>();

/** A fast parser for `schema`, or undefined when the schema has a part it does not handle. */
export function fastParser(schema: z.ZodType): Fast | undefined {
  let fast = compiled.get(schema);
  if (fast === undefined) {
    try {
      fast = compile(schema);
    } catch {
      fast = null;
    }
    compiled.set(schema, fast);
  }
  return fast ?? undefined;
}

class Unsupported extends Error {}

function compile(schema: z.ZodType): Fast {
  const zod = internals(schema);
  const def = zod.def;
  // A schema that is itself a check (z.custom) runs itself as one: leave it to zod.
  if (zod.traits.has('$ZodCheck')) throw new Unsupported();
  if (LEAVES.has(def.type)) return leaf(zod);
  const core = container(def);
  const checks = def.checks ?? [];
  if (checks.length === 0) return core;
  return (value) => {
    const out = core(value);
    return out === FAIL ? FAIL : runChecks(checks, out);
  };
}

/**
 * A leaf: the type test of zod's parse for the common types (string, number, ...), else zod's
 * own run; then the leaf's checks (regex, min, refine) as zod runs them.
 */
function leaf(zod: Internals): Fast {
  const def = zod.def as Def & { coerce?: boolean };
  const test = def.coerce ? undefined : typeTest(def.type, zod);
  if (!test) {
    return (value) => {
      const r = zod.run({ value, issues: [] }, CTX);
      return r instanceof Promise || r.issues.length ? FAIL : r.value;
    };
  }
  const checks = def.checks ?? [];
  if (checks.length === 0) return (value) => (test(value) ? value : FAIL);
  return (value) => (test(value) ? runChecks(checks, value) : FAIL);
}

/** What the parse of each common leaf type accepts (zod 4's schemas.js), unchanged. */
function typeTest(type: string, zod: Internals): ((value: unknown) => boolean) | undefined {
  switch (type) {
    case 'string':
      return (v) => typeof v === 'string';
    case 'number':
      return (v) => typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return (v) => typeof v === 'boolean';
    case 'literal':
    case 'enum': {
      const values = (zod as { values?: Set<unknown> }).values;
      return values instanceof Set ? (v) => values.has(v) : undefined;
    }
    case 'unknown':
    case 'any':
      return () => true;
    default:
      return undefined;
  }
}

/** A schema's own checks (refine, min, ...) on its parsed value, each as zod runs it. */
function runChecks(checks: readonly Check[], value: unknown): unknown {
  const payload: Payload = { value, issues: [] };
  for (const ch of checks) {
    const when = ch._zod.def.when;
    if (when && !when(payload)) continue;
    if (ch._zod.check(payload) instanceof Promise || payload.issues.length) return FAIL;
  }
  return payload.value;
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function container(def: Def): Fast {
  switch (def.type) {
    case 'optional': {
      const inner = compile(def.innerType as z.ZodType);
      // An optional around a defaulted schema substitutes the default: rare, left to zod.
      if (internals(def.innerType as z.ZodType).optin === 'defaulted') throw new Unsupported();
      return (value) => (value === undefined ? undefined : inner(value));
    }
    case 'nullable': {
      const inner = compile(def.innerType as z.ZodType);
      return (value) => (value === null ? null : inner(value));
    }
    case 'default': {
      const inner = compile(def.innerType as z.ZodType);
      return (value) => {
        // zod hands out the default without validating it, and reads it anew each time.
        if (value === undefined) return def.defaultValue;
        const out = inner(value);
        return out === undefined ? def.defaultValue : out;
      };
    }
    case 'object':
      return object(def);
    case 'array': {
      const element = compile(def.element as z.ZodType);
      return (value) => {
        if (!Array.isArray(value)) return FAIL;
        const out = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = element(value[i]);
          if (item === FAIL) return FAIL;
          out[i] = item;
        }
        return out;
      };
    }
    case 'tuple': {
      if (def.rest) throw new Unsupported();
      const items = (def.items ?? []).map((item) => {
        // Optional tail items have their own rules for absent and undefined slots.
        if (internals(item).optin !== undefined || internals(item).optout !== undefined) throw new Unsupported();
        return compile(item);
      });
      return (value) => {
        if (!Array.isArray(value) || value.length !== items.length) return FAIL;
        const out: unknown[] = [];
        for (let i = 0; i < items.length; i++) {
          if (value[i] === undefined) return FAIL;
          const item = (items[i] as Fast)(value[i]);
          if (item === FAIL) return FAIL;
          out[i] = item;
        }
        return out;
      };
    }
    case 'record': {
      // Keys from a fixed set, or kept when invalid (loose), follow other rules: left to zod.
      if (def.mode === 'loose' || internals(def.keyType as z.ZodType).def.type !== 'string') throw new Unsupported();
      if ((internals(def.keyType as z.ZodType) as { values?: unknown }).values !== undefined) throw new Unsupported();
      const key = compile(def.keyType as z.ZodType);
      const val = compile(def.valueType as z.ZodType);
      return (value) => {
        if (!isPlainMap(value) || Object.getOwnPropertySymbols(value).length) return FAIL;
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(value)) {
          if (k === '__proto__' || key(k) !== k) return FAIL;
          const v = val(value[k]);
          if (v === FAIL) return FAIL;
          out[k] = v;
        }
        return out;
      };
    }
    case 'union':
      return discriminated(def);
    default:
      throw new Unsupported();
  }
}

interface Field {
  key: string;
  parse: Fast;
  /** Absent key: left out (optional), required (zod reports it), or given a value (defaulted). */
  absent: 'omit' | 'required' | 'run';
  /** Absent, run, came out undefined: whether zod still writes the key. */
  keepUndefined: boolean;
}

function object(def: Def): Fast {
  const shape = def.shape ?? {};
  if (Object.getOwnPropertySymbols(shape).length) throw new Unsupported();
  const fields: Field[] = Object.keys(shape).map((key) => {
    // zod tests presence with `in`; for these keys that equals an own property of a plain map.
    if (key === '__proto__' || key in Object.prototype) throw new Unsupported();
    const field = shape[key] as z.ZodType;
    const { optin, optout } = internals(field);
    return {
      key,
      parse: compile(field),
      absent: optin === 'optional' && optout === 'optional' ? 'omit' : optin === undefined ? 'required' : 'run',
      keepUndefined: optin === 'defaulted' && optout !== 'optional',
    };
  });
  const known = new Set(Object.keys(shape));
  // No catchall: unknown keys are dropped; `never`: each is a problem; else each is parsed.
  const catchall = def.catchall && internals(def.catchall).def.type !== 'never' ? compile(def.catchall) : undefined;
  const strict = def.catchall !== undefined && catchall === undefined;
  if (catchall && def.catchall && (internals(def.catchall).optin !== undefined || internals(def.catchall).optout !== undefined))
    throw new Unsupported();
  return (value) => {
    if (!isPlainMap(value)) return FAIL;
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const raw = value[f.key];
      if (raw === undefined) {
        // A key written with no value cannot come from YAML; zod's rules for it are its own.
        if (Object.hasOwn(value, f.key) || f.absent === 'required') return FAIL;
        if (f.absent === 'omit') continue;
        const v = f.parse(undefined);
        if (v === FAIL) return FAIL;
        if (v !== undefined) out[f.key] = v;
        else if (f.keepUndefined) out[f.key] = undefined;
        continue;
      }
      const v = f.parse(raw);
      if (v === FAIL) return FAIL;
      out[f.key] = v;
    }
    if (def.catchall !== undefined) {
      for (const key in value) {
        if (known.has(key)) continue;
        if (strict || key === '__proto__' || !catchall) return FAIL;
        const v = catchall(value[key]);
        if (v === FAIL) return FAIL;
        out[key] = v;
      }
    }
    return out;
  };
}

/** z.discriminatedUnion: the option is chosen by the discriminator's value alone, as zod does. */
function discriminated(def: Def): Fast {
  const disc = def.discriminator;
  if (disc === undefined || def.unionFallback) throw new Unsupported();
  const options = (def.options ?? []).map((option) => {
    const values = internals(option).propValues?.[disc];
    if (!values) throw new Unsupported();
    return { values, parse: compile(option) };
  });
  return (value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return FAIL;
    const tag = (value as Record<string, unknown>)[disc];
    if (tag === undefined) return FAIL;
    let match: Fast | undefined;
    for (const o of options) {
      if (!o.values.has(tag)) continue;
      if (match) return FAIL; // claimed twice: zod reports it
      match = o.parse;
    }
    return match ? match(value) : FAIL;
  };
}
