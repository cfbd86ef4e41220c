// A secret's rotator parameters, store and consumers, each validated by its own schema from the
// catalogues, so that unknown names list the known ones and parameters say what is wrong.
import { COMMON_CONSUMER_KEYS, consumerKind, knownConsumerTypes } from '../consumers/catalogue.js';
import { ROTATOR_PARAM_KEYS, builtInRotator, knownRotators } from '../rotator/catalogue.js';
import { isPluginSpec, loadedPlugin, pluginKey } from '../rotator/plugins.js';
import { scrub } from '../redact.js';
import { DEFAULT_STORE_BACKEND, knownStores, storeKind } from '../store/catalogue.js';
import { parseDuration } from './duration.js';
import { check, type RawProblem } from './issues.js';
import { suggestion } from './suggest.js';
import type { ResolvedConsumer, ResolvedSecret } from './types.js';
import type { PathSegment } from './yaml/source.js';

type Raw = Record<string, unknown>;

export function resolveRotator(raw: Raw, path: PathSegment[], out: RawProblem[], policyFile = ''): ResolvedSecret['rotator'] | undefined {
  const name = raw.rotator;
  if (typeof name !== 'string') return undefined;
  const entry = builtInRotator(name);
  if (!entry) {
    if (isPluginSpec(name)) return resolvePluginRotator(raw, name, path, out, policyFile);
    out.push({
      path: [...path, 'rotator'],
      at: 'value',
      code: 'unknown-rotator',
      message: `unknown rotator \`${name}\``,
      hint: suggestion(name, knownRotators(), 'known rotators'),
    });
    return undefined;
  }
  const params: Raw = {};
  for (const key of ROTATOR_PARAM_KEYS) if (raw[key] !== undefined) params[key] = raw[key];
  const parsed = check(entry.paramsSchema, params, { path, label: '', subject: `the ${name} rotator's parameters` }, out);
  return parsed && { name, params: parsed };
}

/**
 * A plug-in named by path or package: loaded already by the pipeline (processFile awaits
 * loadPlugin before it resolves the secret). Its schema and traits are someone else's code, so
 * a throw from them is a problem of the plug-in, reported at the secret's `rotator:` line.
 */
function resolvePluginRotator(
  raw: Raw,
  spec: string,
  path: PathSegment[],
  out: RawProblem[],
  policyFile: string,
): ResolvedSecret['rotator'] | undefined {
  const at = { path: [...path, 'rotator'], at: 'value' as const, code: 'invalid-plugin' as const };
  const key = pluginKey(spec, policyFile);
  const loaded = key === undefined ? undefined : loadedPlugin(key);
  if (!key || !loaded) {
    out.push({
      ...at,
      message: `\`${spec}\` is not a rotator plug-in rotor can load`,
      hint: 'name a file (./plugins/x.ts, relative to this policy file) or an npm package (npm:rotor-rotator-x)',
    });
    return undefined;
  }
  if (!loaded.ok) {
    out.push({ ...at, message: `rotator plug-in \`${spec}\` ${loaded.message}`, hint: loaded.hint });
    return undefined;
  }
  const params: Raw = {};
  for (const k of ROTATOR_PARAM_KEYS) if (raw[k] !== undefined) params[k] = raw[k];
  const subject = `the ${loaded.rotator.name} rotator's parameters`;
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = check(loaded.descriptor.paramsSchema, params, { path, label: '', subject }, out);
    if (parsed) loaded.descriptor.traits(parsed, '');
  } catch (err) {
    out.push({
      ...at,
      message: `rotator plug-in \`${spec}\` (${loaded.rotator.name}) throws while checking its parameters: ${scrub(err instanceof Error ? err.message : String(err))}`,
      hint: 'fix the plug-in: its paramsSchema and traits() must not throw',
    });
    return undefined;
  }
  return parsed && { name: key, params: parsed };
}

export function resolveStore(raw: Raw, id: string, path: PathSegment[], out: RawProblem[]): ResolvedSecret['store'] | undefined {
  const store = raw.store as Raw | null | undefined;
  if (store === undefined) return { backend: DEFAULT_STORE_BACKEND, location: id, params: {} };
  // Not a map or no backend: the secret's own schema reported it.
  if (store === null || typeof store !== 'object' || typeof store.backend !== 'string') return undefined;
  const kind = storeKind(store.backend);
  const storePath = [...path, 'store'];
  if (!kind) {
    out.push({
      path: [...storePath, 'backend'],
      at: 'value',
      code: 'unknown-store',
      message: `unknown store backend \`${store.backend}\``,
      hint: suggestion(store.backend, knownStores(), 'known backends'),
    });
    return undefined;
  }
  const parsed = check(kind.schema, store, { path: storePath, label: 'store', subject: 'store' }, out);
  if (!parsed) return undefined;
  const { backend: _backend, ...params } = parsed;
  return { backend: kind.backend, location: kind.location(params, id), params };
}

export function resolveConsumers(
  raw: Raw,
  defaults: { confirmTimeoutMs: number },
  path: PathSegment[],
  out: RawProblem[],
): ResolvedConsumer[] | undefined {
  const list = raw.consumers;
  if (list === undefined) return [];
  if (!Array.isArray(list)) return undefined; // reported by the secret's own schema
  const consumers: ResolvedConsumer[] = [];
  const names = new Map<string, number>();
  let ok = true;
  for (let i = 0; i < list.length; i++) {
    const c = list[i] as Raw | null;
    if (c === null || typeof c !== 'object' || typeof c.type !== 'string') {
      ok = false; // reported by the secret's own schema
      continue;
    }
    const type = c.type;
    const itemPath = [...path, 'consumers', i];
    const kind = consumerKind(type);
    if (!kind) {
      out.push({
        path: [...itemPath, 'type'],
        at: 'value',
        code: 'unknown-consumer-type',
        message: `unknown consumer type \`${type}\``,
        hint: suggestion(type, knownConsumerTypes(), 'known types'),
      });
      ok = false;
      continue;
    }
    const parsed = check(kind.schema, c, { path: itemPath, label: `consumers[${i}]`, subject: `consumer ${type}` }, out);
    if (!parsed) {
      ok = false;
      continue;
    }
    const name = typeof parsed.name === 'string' ? parsed.name : `${type}-${i + 1}`;
    const earlier = names.get(name);
    if (earlier !== undefined) {
      out.push({
        path: [...itemPath, parsed.name === undefined ? 'type' : 'name'],
        at: 'value',
        code: 'duplicate-consumer',
        message: `consumer name \`${name}\` is already used by consumers[${earlier}]`,
        hint: 'give each consumer of a secret its own `name`',
      });
      ok = false;
      continue;
    }
    names.set(name, i);
    const params: Raw = {};
    for (const key of Object.keys(parsed)) {
      if (!(COMMON_CONSUMER_KEYS as readonly string[]).includes(key)) params[key] = parsed[key];
    }
    consumers.push({
      name,
      type,
      wave: typeof parsed.wave === 'number' ? parsed.wave : 1,
      cacheTtlMs: typeof parsed.cacheTtl === 'string' ? parseDuration(parsed.cacheTtl) : undefined,
      confirmTimeoutMs:
        (typeof parsed.confirmTimeout === 'string' ? parseDuration(parsed.confirmTimeout) : undefined) ?? defaults.confirmTimeoutMs,
      params,
    });
  }
  return ok ? consumers : undefined;
}
