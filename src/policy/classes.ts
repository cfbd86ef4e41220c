// Classes (`classes:` in any policy file): named sets of timing fields that secrets refer to.
// Each is validated once, and its own combinations (grace vs cadence) are reported at the class.
import { parseFreezes, type Freeze } from './freeze.js';
import { check, type RawProblem } from './issues.js';
import { CLASS_NAME, classSchema } from './schema.js';
import { combineTiming, parseTimingLayer, type Timing, type TimingLayer } from './timing.js';
import type { PathSegment, PolicySource } from './yaml/source.js';

export interface ResolvedClass {
  name: string;
  /** Where the class is defined; located only when a message needs it. */
  src: PolicySource;
  path: PathSegment[];
  /** The class's own fields, which secrets layer their overrides on; undefined if it is invalid. */
  layer: TimingLayer | undefined;
  /** The class's fields over the defaults: what a secret that overrides nothing gets. */
  timing: Timing | undefined;
  /** Its `freezes:`, which its secrets add to their file's. */
  freezes: Freeze[];
}

export function classLocation(c: ResolvedClass): string {
  const pos = c.src.locate(c.path, 'key');
  return `${c.src.display}:${pos.line}:${pos.col}`;
}

/**
 * Validates the `classes:` map of one file and adds its classes to `into`. A class defined twice
 * (in any files) is reported at the second definition, naming the first. An invalid class is
 * still added, so its secrets are not also told that it does not exist.
 */
export function collectClasses(src: PolicySource, raw: unknown, into: Map<string, ResolvedClass>, out: RawProblem[]): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    out.push({
      path: ['classes'],
      at: 'value',
      code: 'wrong-type',
      message: '`classes` must be a map of class name to class',
      hint: 'write classes: { critical: { cadence: 30d, grace: 1h } }',
    });
    return;
  }
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const path = ['classes', name];
    if (!CLASS_NAME.test(name)) {
      out.push({
        path,
        at: 'key',
        code: 'invalid-value',
        message: `class name \`${name}\` is not valid`,
        hint: 'start with a lower-case letter; use lower-case letters, digits, - and _',
      });
    }
    const first = into.get(name);
    if (first) {
      out.push({
        path,
        at: 'key',
        code: 'duplicate-class',
        message: `class \`${name}\` is defined twice; the other definition is at ${classLocation(first)}`,
        hint: 'keep one definition and remove or rename the other',
      });
      continue;
    }
    const fields = check(classSchema, value ?? {}, { path, label: '', subject: `class \`${name}\`` }, out, true);
    const layer = fields && parseTimingLayer(fields, path, undefined, out);
    const timing = layer && combineTiming(layer, undefined, out);
    const freezes = parseFreezes(fields?.freezes, [...path, 'freezes'], out);
    into.set(name, { name, src, path, layer, timing, freezes });
  }
}
