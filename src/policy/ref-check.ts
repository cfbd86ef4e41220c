// `validate --resolve`: resolves every env: and file: reference of a secret and reports the ones
// that fail. Plain validate does not, because CI that checks policy changes has no production
// environment. Values are never kept: only whether each reference resolved.
import { dirname } from 'node:path';
import { coerceError, RotorError } from '../errors.js';
import type { RawProblem } from './issues.js';
import { readRefFile } from './ref-file.js';
import { isRef, parseRef, resolveRef } from './refs.js';
import type { PathSegment } from './yaml/source.js';

export interface ReferenceCheckOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** @defaultValue readRefFile: regular files only, at most ROTOR_REF_FILE_MAX_BYTES */
  readFile?: (path: string) => Promise<string>;
  /** Without it, aws-sm: references are not checked (they need AWS access). */
  awsSecretsManager?: (id: string) => Promise<string>;
  /** Without it, vault: references are not checked (they need Vault access). */
  vault?: (id: string) => Promise<string>;
}

/** Fields that hold text about a secret, never a reference rotor uses. */
const NOT_REFERENCES = new Set(['id', 'owner', 'description', 'tags', 'class', 'rotator']);

/** Outcomes by policy directory and reference: one lookup however many secrets share it. */
export type ReferenceCache = Map<string, Promise<Error | undefined>>;

export async function checkReferences(
  raw: unknown,
  path: PathSegment[],
  policyFile: string,
  opts: ReferenceCheckOptions,
  outcomes: ReferenceCache,
): Promise<RawProblem[]> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const found: Array<{ path: PathSegment[]; ref: string }> = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!NOT_REFERENCES.has(key)) collect(value, [...path, key], found);
  }
  const baseDir = dirname(policyFile);
  const problems: RawProblem[] = [];
  for (const { path: refPath, ref } of found) {
    if (parseRef(ref)?.kind === 'aws-sm' && !opts.awsSecretsManager) continue;
    if (parseRef(ref)?.kind === 'vault' && !opts.vault) continue;
    const key = `${baseDir}\u0000${ref}`;
    let outcome = outcomes.get(key);
    if (!outcome) {
      outcome = resolveRef(ref, {
        baseDir,
        env: opts.env,
        readFile: opts.readFile ?? ((p, base) => readRefFile(p, { policyDir: base })),
        ...(opts.awsSecretsManager ? { awsSecretsManager: opts.awsSecretsManager } : {}),
        ...(opts.vault ? { vault: opts.vault } : {}),
      }).then(
        () => undefined,
        (err: unknown) => coerceError(err),
      );
      outcomes.set(key, outcome);
    }
    const err = await outcome;
    if (err) {
      problems.push({
        path: refPath,
        at: 'value',
        code: 'unresolvable-reference',
        message: `cannot resolve reference: ${err.message}`,
        ...(err instanceof RotorError && err.hint ? { hint: err.hint } : {}),
      });
    }
  }
  return problems;
}

function collect(value: unknown, path: PathSegment[], found: Array<{ path: PathSegment[]; ref: string }>): void {
  if (typeof value === 'string') {
    if (isRef(value)) found.push({ path, ref: value });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => collect(v, [...path, i], found));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) collect(v, [...path, k], found);
  }
}
