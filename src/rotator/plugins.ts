// Rotator plug-ins: a policy names one by path (`rotator: ./plugins/acme.ts`, relative to the
// policy file) or by npm package (`rotator: npm:rotor-rotator-acme`). Loading one imports it and
// checks its contract version, its methods and its parameter schema, once per process, and makes
// it a descriptor like a built-in's (its traits checked); the policy loader reports what is wrong
// at the secret's `rotator:` line, the runtime refuses to start. Nothing is imported unless
// ROTOR_PLUGIN_DIRS allows it (src/trust-roots.ts), in validate, start and workers alike.
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidInputError } from '../errors.js';
import { scrub } from '../redact.js';
import { pluginAllowed } from '../trust-roots.js';
import { readyToImport } from '../typescript-plugins.js';
import { ROTATOR_CONTRACT_VERSION, type Rotator, type RotatorTraits } from './contract.js';
import { OPTIONAL_METHODS, REQUIRED_METHODS, describedRotator, type AnyRotatorDescriptor } from './descriptor.js';

/** npm package names (scoped or not), optionally with a subpath: `npm:@acme/rotor-rotators/api`. */
const NPM_SPEC = /^npm:((?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*(?:\/[A-Za-z0-9._~/-]+)?)$/;

const REQUIRED = ['traits', ...REQUIRED_METHODS] as const;
const OPTIONAL = OPTIONAL_METHODS;

export type PluginOutcome =
  /** `rotator` is the plug-in under its descriptor: the traits it reports are checked. */
  | { ok: true; key: string; rotator: Rotator<unknown>; descriptor: AnyRotatorDescriptor }
  | { ok: false; key: string; message: string; hint: string };

const outcomes = new Map<string, Promise<PluginOutcome>>();
const settled = new Map<string, PluginOutcome>();

/** True when a policy's `rotator:` value names a plug-in rather than a built-in rotator. */
export function isPluginSpec(name: string): boolean {
  const c = name.charCodeAt(0);
  // '.' or '/' first: a path; built-in names start with a letter.
  return c === 46 || c === 47 || name.startsWith('npm:');
}

/**
 * The plug-in's key, what the resolved secret records as its rotator's name and what workers load:
 * the absolute path of a file (a relative one is relative to the policy file), or `npm:<package>`.
 * Undefined when `spec` is not a plug-in spec, or not a valid one.
 */
export function pluginKey(spec: string, policyFile: string): string | undefined {
  if (spec.startsWith('npm:')) return NPM_SPEC.test(spec) ? spec : undefined;
  if (spec.startsWith('./') || spec.startsWith('../')) return resolve(dirname(policyFile), spec);
  if (isAbsolute(spec)) return spec;
  return undefined;
}

/** The outcome of a plug-in already loaded in this process (the policy loader awaited it). */
export function loadedPlugin(key: string): PluginOutcome | undefined {
  return settled.get(key);
}

/** Loads and checks a plug-in once per process; never throws (the outcome says what is wrong). */
export function loadPlugin(key: string, opts: LoadPluginOptions = {}): Promise<PluginOutcome> {
  let outcome = outcomes.get(key);
  if (!outcome) {
    outcome = load(key, opts.namedByOperator === true).then((o) => {
      settled.set(key, o);
      return o;
    });
    outcomes.set(key, outcome);
  }
  return outcome;
}

export interface LoadPluginOptions {
  /**
   * The operator named this plug-in on rotor's command line (`rotor conformance ./x.ts`): that is
   * the explicit consent ROTOR_PLUGIN_DIRS stands for when a policy names one.
   */
  namedByOperator?: boolean;
}

/** For the runtime: the plug-in's rotator, or an InvalidInputError saying what is wrong. */
export async function requirePlugin(key: string, opts: LoadPluginOptions = {}): Promise<Rotator<unknown>> {
  const o = await loadPlugin(key, opts);
  if (!o.ok) throw new InvalidInputError(`rotator plug-in ${key}: ${o.message}`, { hint: o.hint });
  return o.rotator;
}

async function load(key: string, namedByOperator: boolean): Promise<PluginOutcome> {
  const fail = (message: string, hint: string): PluginOutcome => ({ ok: false, key, message, hint });
  // Checked before anything of the plug-in runs: validate in CI must not execute a pull request's code.
  const allowed = namedByOperator ? { ok: true as const } : pluginAllowed(key);
  if (!allowed.ok) return fail(allowed.message, allowed.hint);
  let mod: Record<string, unknown>;
  try {
    mod = (await importPlugin(key)) as Record<string, unknown>;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const code = (err as { code?: unknown }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && notFound(key, e)) {
      return key.startsWith('npm:')
        ? fail(
            `cannot be loaded: package ${key.slice(4)} is not installed`,
            `install it where rotor runs: npm install ${key.slice(4).replace(/^(@[^/]+\/[^/]+|[^/]+).*$/, '$1')}`,
          )
        : fail('cannot be loaded: no such file', `check the path; a relative path is relative to the policy file (it resolved to ${key})`);
    }
    if (/require\(\) ES Module|outside a module|ERR_REQUIRE_ESM/.test(e.message)) {
      return fail(
        'cannot be loaded as an ES module',
        'put "type": "module" in the package.json next to the plug-in (or name it .mts / .mjs): rotor imports plug-ins as ES modules',
      );
    }
    const where = throwSite(e, key);
    return fail(
      `throws while loading: ${scrub(e.message.split('\n')[0] ?? '')}`,
      `${where ? `thrown at ${where}; ` : ''}fix the plug-in: rotor loads it exactly like this in validate and in every worker`,
    );
  }
  const rotator = mod.default as Partial<Rotator<unknown>> | undefined;
  const exportHint =
    "export the rotator as the module's default: export default defineRotator({ name, contractVersion: ROTATOR_CONTRACT_VERSION, paramsSchema, traits, generate, apply, verify, revoke })";
  if (rotator === null || typeof rotator !== 'object') return fail('has no default export that is a rotator', exportHint);
  if (rotator.contractVersion !== ROTATOR_CONTRACT_VERSION) {
    return fail(
      `implements rotator contract version ${String(rotator.contractVersion ?? '(none)')}; this rotor implements version ${ROTATOR_CONTRACT_VERSION}`,
      rotator.contractVersion === undefined
        ? "set contractVersion: ROTATOR_CONTRACT_VERSION (from rotor's src/rotator/contract.ts)"
        : 'use a release of the plug-in built for this rotor, or a rotor that implements its version',
    );
  }
  if (typeof rotator.name !== 'string' || rotator.name === '')
    return fail('has no name', 'give the rotator a name: a short word such as acme-api-keys');
  const missing = REQUIRED.filter((m) => typeof rotator[m] !== 'function');
  const wrong = OPTIONAL.filter((m) => rotator[m] !== undefined && typeof rotator[m] !== 'function');
  if (missing.length || wrong.length) {
    const parts = [
      ...(missing.length ? [`does not implement ${missing.map((m) => `${m}()`).join(', ')}`] : []),
      ...(wrong.length ? [`has ${wrong.join(', ')} that are not functions`] : []),
    ];
    return fail(
      `${rotator.name}: ${parts.join('; ')}`,
      'a rotator implements traits, generate, apply, verify and revoke (preflight, inUse and terminate are optional); see src/rotator/contract.ts',
    );
  }
  const schema = rotator.paramsSchema as { safeParse?: unknown; _zod?: unknown } | undefined;
  if (!schema || typeof schema.safeParse !== 'function' || typeof schema._zod !== 'object') {
    return fail(
      `${rotator.name}: paramsSchema is not a zod 4 schema`,
      'declare the parameters with zod 4, e.g. paramsSchema: z.strictObject({ target: z.strictObject({ ... }) })',
    );
  }
  const full = rotator as Rotator<Record<string, unknown>>;
  // The plug-in's key is its name in policies and in the catalogue; the rotator keeps its own for messages.
  const descriptor: AnyRotatorDescriptor = {
    name: key,
    paramsSchema: full.paramsSchema,
    traits: (params, secretId) => checkTraits(full, params, secretId),
    load: async () => ({ default: described }),
  };
  const described = describedRotator(descriptor, full);
  return { ok: true, key, rotator: described as Rotator<unknown>, descriptor };
}

/** A plug-in's traits, checked: plan and the scheduler rely on their shape. */
export function checkTraits<P>(rotator: Rotator<P>, params: P, secretId: string): RotatorTraits {
  const t = rotator.traits(params, secretId) as Partial<RotatorTraits> | undefined;
  if (!t || typeof t.overlap !== 'boolean' || typeof t.drain !== 'boolean' || typeof t.targetKey !== 'string' || t.targetKey === '') {
    throw new Error(`${rotator.name}: traits() must return { overlap: boolean, drain: boolean, targetKey: non-empty text }`);
  }
  if (t.drain && typeof rotator.inUse !== 'function')
    throw new Error(`${rotator.name}: traits() says drain but the rotator has no inUse()`);
  return t as RotatorTraits;
}

async function importPlugin(key: string): Promise<unknown> {
  if (!key.startsWith('npm:')) {
    await readyToImport(key);
    return import(pathToFileURL(key).href);
  }
  const pkg = key.slice(4);
  try {
    return await import(pkg);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    // Not next to rotor: the project rotor runs in (its working directory) may have it installed.
    const local = createRequire(join(process.cwd(), 'package.json'));
    let path: string;
    try {
      path = local.resolve(pkg);
    } catch {
      throw err;
    }
    return import(pathToFileURL(path).href);
  }
}

/** True when the module not found is the plug-in itself, not something it imports. */
function notFound(key: string, err: Error): boolean {
  if (key.startsWith('npm:')) return err.message.includes(`'${key.slice(4).split('/')[0]}`) || err.message.includes(key.slice(4));
  return err.message.includes(key) || err.message.includes(pathToFileURL(key).href);
}

/** `plugins/acme.ts:12:9`: the first stack frame in the plug-in's own file, relative to the cwd. */
function throwSite(err: Error, key: string): string | undefined {
  const file = key.startsWith('npm:') ? undefined : key;
  for (const line of (err.stack ?? '').split('\n')) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const path = m[1]?.startsWith('file://') ? fileURLToPath(m[1]) : (m[1] as string);
    if (file ? path === file : path.includes(`/node_modules/${key.slice(4).split('/')[0]}`)) {
      const rel = relative(process.cwd(), path);
      return `${rel && !rel.startsWith('..') ? rel : path}:${m[2]}:${m[3]}`;
    }
  }
  return undefined;
}
