// The field names a zod schema accepts at a path, for "unknown field `x`: did you mean `y`?".
// zod reports unrecognized keys but not the recognized ones; this walks the schema's definition,
// choosing union branches by the data (a discriminator's value) as zod itself did.
import type { z } from 'zod';
import type { PathSegment } from './yaml/source.js';

/** The parts of zod 4's internal definitions this walk reads. */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  items?: z.ZodType[];
  valueType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** Strips wrappers and picks the union branch that `data` was parsed against. */
function unwrap(schema: z.ZodType, data: unknown): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (let guard = 0; s && guard < 32; guard++) {
    const def = defOf(s);
    if (WRAPPERS.has(def.type)) s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else if (def.type === 'lazy') s = def.getter?.();
    else if (def.type === 'union') s = pickBranch(def, data);
    else return s;
  }
  return undefined;
}

function pickBranch(def: Def, data: unknown): z.ZodType | undefined {
  const options = def.options ?? [];
  const record = data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : undefined;
  if (def.discriminator && record) {
    const wanted = record[def.discriminator];
    for (const option of options) {
      const field = unwrap(option, data);
      const disc = field && defOf(field).shape?.[def.discriminator];
      if (disc && defOf(disc).values?.includes(wanted)) return option;
    }
  }
  // Otherwise the first object branch: the best guess at what the author meant.
  return options.find((o) => defOf(unwrap(o, undefined) ?? o).type === 'object') ?? options[0];
}

function child(schema: z.ZodType, seg: PathSegment): z.ZodType | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return def.shape?.[String(seg)];
    case 'array':
      return def.element;
    case 'tuple':
      return typeof seg === 'number' ? def.items?.[seg] : undefined;
    case 'record':
      return def.valueType;
    default:
      return undefined;
  }
}

/** Keys of the object schema at `path` within `schema`, given the data being validated. */
export function knownKeysAt(schema: z.ZodType, path: readonly PathSegment[], data: unknown): string[] {
  let s = unwrap(schema, data);
  let d: unknown = data;
  for (const seg of path) {
    if (!s) return [];
    const next = child(s, seg);
    d = d !== null && typeof d === 'object' ? (d as Record<PathSegment, unknown>)[seg] : undefined;
    s = next && unwrap(next, d);
  }
  const shape = s && defOf(s).shape;
  return shape ? Object.keys(shape) : [];
}
