// The fast parser never says yes where zod says no, and when it says yes it gives zod's output
// (defaults applied, same keys in the same order). It is held to zod on every schema a policy
// uses, for the secrets of the example policies, the fixtures and the benchmark's generator, and
// for thousands of variants of them: each field removed, replaced by values of every type, and
// joined by an unknown field, at every depth.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { consumerKind, knownConsumerTypes } from '../../../src/consumers/catalogue.js';
import { ROTATOR_PARAM_KEYS, knownRotators, builtInRotator } from '../../../src/rotator/catalogue.js';
import { classSchema, cronCadenceSchema, secretSchema, windowSchema } from '../../../src/policy/schema.js';
import { knownStores, storeKind } from '../../../src/store/catalogue.js';
import { readTopLevel } from '../../../src/policy/top-level.js';
import { parsePolicySource } from '../../../src/policy/yaml/source.js';
import { FAIL, fastParser } from '../../../src/policy/zod-fast.js';
import { generatePolicyTree } from '../../../bench/policy-gen.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

/**
 * Every secret (and class) written in the example policies, the fixtures and a file of the
 * benchmark, as parsed YAML; `valid` are the ones from the example policies and the benchmark.
 */
async function writtenSecrets(): Promise<{
  secrets: Array<Record<string, unknown>>;
  valid: Array<Record<string, unknown>>;
  classes: unknown[];
}> {
  const secrets: Array<Record<string, unknown>> = [];
  const valid: Array<Record<string, unknown>> = [];
  const classes: unknown[] = [];
  const bench = mkdtempSync(join(tmpdir(), 'rotor-zod-fast-'));
  await generatePolicyTree(bench, 1, 10);
  const validFiles = [...yamlFiles(join(ROOT, 'policies')), ...yamlFiles(bench)];
  for (const file of [...validFiles, ...yamlFiles(join(ROOT, 'test/fixtures'))]) {
    const top = readTopLevel(parsePolicySource(file, file, readFileSync(file, 'utf8')));
    for (const s of top.secrets) {
      if (s === null || typeof s !== 'object' || Array.isArray(s)) continue;
      secrets.push(s as Record<string, unknown>);
      if (validFiles.includes(file)) valid.push(s as Record<string, unknown>);
    }
    if (top.classes !== null && typeof top.classes === 'object') classes.push(...Object.values(top.classes));
  }
  rmSync(bench, { recursive: true, force: true });
  return { secrets, valid, classes };
}

const REPLACEMENTS: unknown[] = [
  null,
  0,
  1,
  -1,
  1.5,
  70000,
  '',
  'x',
  'Upper',
  'env:X',
  'file:/x',
  'https://h/x',
  '30s',
  '0 3 * * 1',
  'a b',
  true,
  false,
  [],
  ['x'],
  [1],
  {},
  { x: 1 },
];

/** The value itself, and each variant one change away from it, down to `depth` levels. */
function variants(value: unknown, depth: number): unknown[] {
  const out: unknown[] = [value, ...REPLACEMENTS];
  if (depth === 0 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    out.push([...value, value[0]], value.slice(1), value.slice(0, -1));
    value.forEach((item, i) => {
      for (const v of variants(item, depth - 1)) out.push(value.map((x, j) => (j === i ? v : x)));
    });
    return out;
  }
  const map = value as Record<string, unknown>;
  out.push({ ...map, unknownField: 1 });
  for (const key of Object.keys(map)) {
    const { [key]: _dropped, ...rest } = map;
    out.push(rest);
    for (const v of variants(map[key], depth - 1)) out.push({ ...map, [key]: v });
  }
  return out;
}

/** Holds the fast parser to zod on `value`; returns whether it said yes. */
function agrees(schema: z.ZodType, value: unknown): boolean {
  const fast = fastParser(schema);
  if (!fast) throw new Error('no fast parser');
  const got = fast(value);
  const want = schema.safeParse(value);
  if (got === FAIL) return false;
  expect(want.success, JSON.stringify(value)).toBe(true);
  expect(got).toStrictEqual(want.data);
  expect(JSON.stringify(got)).toBe(JSON.stringify(want.data));
  return true;
}

const { secrets, valid, classes } = await writtenSecrets();

function paramsOf(secret: Record<string, unknown>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const key of ROTATOR_PARAM_KEYS) if (secret[key] !== undefined) params[key] = secret[key];
  return params;
}

describe('the fast zod parser', () => {
  it('has a fast path for every built-in rotator, store and consumer type, and the policy shapes', () => {
    const schemas = [
      ...knownRotators().map((name) => builtInRotator(name)?.paramsSchema),
      ...knownStores().map((b) => storeKind(b)?.schema),
      ...knownConsumerTypes().map((t) => consumerKind(t)?.schema),
      secretSchema,
      classSchema,
      windowSchema,
      cronCadenceSchema,
    ];
    for (const s of schemas) expect(s && fastParser(s)).toBeTypeOf('function');
    expect(fastParser(z.string().transform((s) => s.length))).toBeUndefined();
    expect(fastParser(z.union([z.string(), z.number()]))).toBeUndefined();
  });

  it('matches zod on every rotator parameter set written in the policies and fixtures, and their variants', () => {
    let yes = 0;
    let total = 0;
    for (const secret of secrets) {
      const entry = typeof secret.rotator === 'string' ? builtInRotator(secret.rotator) : undefined;
      if (!entry) continue;
      for (const v of variants(paramsOf(secret), 3)) {
        total++;
        if (agrees(entry.paramsSchema, v)) yes++;
      }
    }
    expect(total).toBeGreaterThan(2_000);
    expect(yes).toBeGreaterThan(100);
  });

  it('takes the fast path for every part of every valid secret', () => {
    expect(valid.length).toBeGreaterThan(15);
    for (const secret of valid) {
      const entry = builtInRotator(secret.rotator as string);
      expect(entry && agrees(entry.paramsSchema, paramsOf(secret)), String(secret.id)).toBe(true);
      const store = secret.store as { backend: string } | undefined;
      if (store) expect(agrees((storeKind(store.backend) as { schema: z.ZodType }).schema, store), String(secret.id)).toBe(true);
      for (const c of (secret.consumers ?? []) as Array<{ type: string }>) {
        expect(agrees((consumerKind(c.type) as { schema: z.ZodType }).schema, c), `${String(secret.id)} ${c.type}`).toBe(true);
      }
    }
  });

  it('matches zod on every store and consumer written, and their variants', () => {
    let yes = 0;
    for (const secret of secrets) {
      const store = secret.store as Record<string, unknown> | undefined;
      const kind = store && typeof store.backend === 'string' ? storeKind(store.backend) : undefined;
      if (kind) for (const v of variants(store, 2)) if (agrees(kind.schema, v)) yes++;
      for (const c of Array.isArray(secret.consumers) ? secret.consumers : []) {
        const ck =
          c && typeof c === 'object' && typeof (c as { type?: unknown }).type === 'string'
            ? consumerKind((c as { type: string }).type)
            : undefined;
        if (ck) for (const v of variants(c, 2)) if (agrees(ck.schema, v)) yes++;
      }
    }
    expect(yes).toBeGreaterThan(50);
  });

  it('matches zod on secrets and classes as written, and their variants', () => {
    let yes = 0;
    for (const secret of secrets) for (const v of variants(secret, 1)) if (agrees(secretSchema, v)) yes++;
    for (const c of classes) for (const v of variants(c, 2)) if (agrees(classSchema, v)) yes++;
    expect(yes).toBeGreaterThan(50);
  });

  it('keeps zod semantics of defaults, optionals, records, tuples, refinements and unknown keys', () => {
    const schema = z.strictObject({
      a: z.string().default('d'),
      b: z.number().int().min(1).optional(),
      c: z.record(z.string().regex(/^[A-Z]+$/), z.string()).default({}),
      d: z.tuple([z.string(), z.string()]).refine(([x, y]) => x !== y),
      e: z.looseObject({ t: z.literal('x') }).optional(),
      f: z.unknown().optional(),
      g: z.object({ k: z.boolean().default(false) }).default({ k: true }),
    });
    const cases: unknown[] = [
      { d: ['x', 'y'] },
      { d: ['x', 'x'] },
      { d: ['x'] },
      { d: ['x', 'y', 'z'] },
      { a: 'v', b: 2, c: { AB: 'q' }, d: ['x', 'y'], e: { t: 'x', more: [1] }, f: { any: 1 }, g: {} },
      { b: 1.5, d: ['x', 'y'] },
      { b: 0, d: ['x', 'y'] },
      { c: { ab: 'q' }, d: ['x', 'y'] },
      { c: { AB: 1 }, d: ['x', 'y'] },
      { d: ['x', 'y'], e: { t: 'y' } },
      { d: ['x', 'y'], g: { k: true, extra: 1 } },
      { d: ['x', 'y'], zz: 1 },
      { a: undefined, d: ['x', 'y'] },
      Object.assign(Object.create({ inherited: 1 }) as object, { d: ['x', 'y'] }),
      [],
      null,
    ];
    for (const c of cases) for (const v of variants(c, 2)) agrees(schema, v);
    expect(agrees(schema, { d: ['x', 'y'] })).toBe(true);
  });
});
