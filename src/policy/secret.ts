// One secret from a policy file, validated and resolved: its own fields, its class's, defaults,
// and its rotator, store and consumers. Every part is checked even when another part is wrong,
// so a policy author sees all problems of a secret at once.
import type { ResolvedClass } from './classes.js';
import { findCredentialLiterals } from './credentials.js';
import { parseFreezes, type Freeze } from './freeze.js';
import { envelopeSurelyValid } from './envelope.js';
import { check, type RawProblem } from './issues.js';
import { LoadedSecret } from './loaded-secret.js';
import { SECRET_ID, SECRET_ID_MAX, secretSchema, type RawSecret } from './schema.js';
import { resolveConsumers, resolveRotator, resolveStore } from './secret-parts.js';
import { suggestion } from './suggest.js';
import { combineTiming, hasTimingFields, parseTimingLayer, type Timing } from './timing.js';
import type { PathSegment, PolicySource } from './yaml/source.js';

export interface SecretContext {
  classes: ReadonlyMap<string, ResolvedClass>;
  /** The `freezes:` of the secret's file. */
  fileFreezes?: Freeze[];
  /** Timing of secrets that name no class and override nothing. */
  defaultTiming: Timing;
}

type Raw = Record<string, unknown>;

/** The secret's id if it has a usable one: problems of the secret carry it. */
export function rawSecretId(raw: unknown): string | undefined {
  const id = raw !== null && typeof raw === 'object' ? (raw as Raw).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

export function resolveSecret(
  src: PolicySource,
  raw: unknown,
  index: number,
  ctx: SecretContext,
  out: RawProblem[],
): LoadedSecret | undefined {
  const path: PathSegment[] = ['secrets', index];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    out.push({
      path,
      at: 'value',
      code: 'wrong-type',
      message: 'each secret must be a map with at least id and rotator',
      hint: 'write - { id: team/name, rotator: postgres, ... }',
    });
    return undefined;
  }
  const before = out.length;
  findCredentialLiterals(raw, [...path], out);
  const credentialProblems = out.length - before;
  const secret = raw as Raw;
  const fields = envelopeSurelyValid(secret)
    ? (secret as RawSecret)
    : (check(secretSchema, secret, { path, label: '', subject: 'secret' }, out, true) as RawSecret | undefined);
  const id = typeof secret.id === 'string' ? secret.id : '';
  if (id.length > SECRET_ID_MAX) {
    out.push({
      path: [...path, 'id'],
      at: 'value',
      code: 'invalid-id',
      message: `secret id \`${id.slice(0, 40)}...\` is ${id.length} characters; at most ${SECRET_ID_MAX}`,
      hint: 'use a shorter id; the stores rotor writes to take at most 512 characters',
    });
  } else if (typeof secret.id === 'string' && !SECRET_ID.test(id)) {
    out.push({
      path: [...path, 'id'],
      at: 'value',
      code: 'invalid-id',
      message: `secret id \`${id}\` is not a valid id`,
      hint: "use lower-case letters, digits, '.', '_' and '-' in segments joined by '/', e.g. payments/db-app (no ':')",
    });
  }
  const timing = resolveTiming(secret, fields, path, ctx, out);
  const rotator = resolveRotator(secret, path, out, src.file);
  const store = resolveStore(secret, id, path, out);
  const inherited = typeof secret.class === 'string' ? ctx.classes.get(secret.class) : undefined;
  const freezes = [...(ctx.fileFreezes ?? []), ...(inherited?.freezes ?? []), ...parseFreezes(fields?.freezes, [...path, 'freezes'], out)];
  const consumers = resolveConsumers(secret, { confirmTimeoutMs: timing?.confirmTimeoutMs ?? 0 }, path, out);
  if (credentialProblems) dropShadowedProblems(out, before, credentialProblems);
  if (out.length > before || !fields || !timing || !rotator || !store || !consumers) return undefined;
  const position = src.itemPosition(path, raw);
  return new LoadedSecret(
    id,
    fields.owner,
    fields.class,
    fields.description,
    fields.tags ?? [],
    timing.schedule,
    timing.graceMs,
    timing.emergencyGraceMs,
    timing.jitterMs,
    timing.window,
    timing.retry,
    timing.drain,
    rotator,
    store,
    consumers,
    { file: src.file, line: position.line, col: position.col },
    fields.dependsOn?.length ? fields.dependsOn : undefined,
    freezes.length ? freezes : undefined,
  );
}

function resolveTiming(
  secret: Raw,
  fields: RawSecret | undefined,
  path: PathSegment[],
  ctx: SecretContext,
  out: RawProblem[],
): Timing | undefined {
  let inherited: ResolvedClass | undefined;
  if (typeof secret.class === 'string') {
    inherited = ctx.classes.get(secret.class);
    if (!inherited) {
      out.push({
        path: [...path, 'class'],
        at: 'value',
        code: 'unknown-class',
        message: `unknown class \`${secret.class}\``,
        hint: ctx.classes.size
          ? suggestion(secret.class, [...ctx.classes.keys()], 'classes defined')
          : 'no classes are defined; add them under `classes:` in any policy file',
      });
      return undefined;
    }
    // An invalid class was reported where it is defined; its secrets cannot be resolved.
    if (!inherited.timing) return undefined;
  }
  // Most secrets override nothing: they share their class's (or the default) timing.
  if (!hasTimingFields(secret)) return inherited?.timing ?? ctx.defaultTiming;
  if (!fields) return undefined;
  const own = parseTimingLayer(fields, path, inherited?.layer?.window?.tz, out);
  return own && combineTiming(own, inherited?.layer, out);
}

/**
 * A credential written where a reference belongs is also a schema error at the same place; the
 * credential problem says more, so the other one goes.
 */
function dropShadowedProblems(out: RawProblem[], from: number, credentialCount: number): void {
  const shadowed = new Set(out.slice(from, from + credentialCount).map((p) => p.path.join('\u0000')));
  for (let i = out.length - 1; i >= from + credentialCount; i--) {
    if (shadowed.has((out[i] as RawProblem).path.join('\u0000'))) out.splice(i, 1);
  }
}
