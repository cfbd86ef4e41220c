// The rotator catalogue: every rotator a policy may name, as one descriptor (built-ins from
// rotators/index.ts, plug-ins once loaded), and their implementations once loaded. validate, plan,
// sync, the engine, conformance and repair all read it, so a rotator's traits exist once.
import * as builtIns from '../../rotators/index.js';
import { PermanentError } from '../errors.js';
import type { ResolvedSecret } from '../policy/types.js';
import type { Rotator, RotatorTraits } from './contract.js';
import { describedRotator, type AnyRotatorDescriptor } from './descriptor.js';
import { isPluginSpec, loadedPlugin, requirePlugin } from './plugins.js';

export type { AnyRotatorDescriptor } from './descriptor.js';

/** Keys of a secret in a policy that belong to its rotator: together they are `rotator.params`. */
export const ROTATOR_PARAM_KEYS = ['strategy', 'target', 'generate', 'overlap'] as const;

/** Every descriptor rotators/index.ts exports, in the order of their names. */
export const BUILT_IN_ROTATORS: readonly AnyRotatorDescriptor[] = Object.values(builtIns).sort((a, b) => a.name.localeCompare(b.name));

const BUILT_IN = new Map<string, AnyRotatorDescriptor>(BUILT_IN_ROTATORS.map((d) => [d.name, d]));

/** A built-in rotator's descriptor (plug-ins are named by path or package, never by a bare name). */
export function builtInRotator(name: string): AnyRotatorDescriptor | undefined {
  return BUILT_IN.get(name);
}

export function knownRotators(): string[] {
  return [...BUILT_IN.keys()];
}

/** The descriptor of a built-in, or of a plug-in the policy loader (or loadRotators) loaded in this process. */
export function rotatorDescriptor(name: string): AnyRotatorDescriptor | undefined {
  const builtIn = BUILT_IN.get(name);
  if (builtIn) return builtIn;
  const o = isPluginSpec(name) ? loadedPlugin(name) : undefined;
  return o?.ok ? o.descriptor : undefined;
}

/** A resolved secret's traits, from its rotator's descriptor. */
export function rotatorTraits(secret: Pick<ResolvedSecret, 'id' | 'rotator'>): RotatorTraits {
  const d = rotatorDescriptor(secret.rotator.name);
  if (!d) throw new Error(`rotator ${secret.rotator.name} is not in the catalogue (known: ${knownRotators().join(', ')})`);
  return d.traits(secret.rotator.params, secret.id);
}

/** Identity of the system a secret lives on: runs on one target are staggered. */
export function targetKeyOf(secret: Pick<ResolvedSecret, 'id' | 'rotator'>): string {
  return rotatorTraits(secret).targetKey;
}

const loaded = new Map<string, Rotator<unknown>>();

/** Loads the implementations of `names` (built-in or plug-in keys); a worker loads only what its policies name. */
export async function loadRotators(names: Iterable<string>): Promise<void> {
  for (const name of names) {
    if (loaded.has(name)) continue;
    const builtIn = BUILT_IN.get(name);
    if (builtIn) loaded.set(name, describedRotator(builtIn, (await builtIn.load()).default) as Rotator<unknown>);
    // A plug-in's name is its key (an absolute path or npm:package): load it, or refuse to start.
    else if (isPluginSpec(name)) loaded.set(name, await requirePlugin(name));
  }
}

/** A loaded rotator, for the engine: its traits are its descriptor's. */
export function rotatorFor(name: string): Rotator<unknown> {
  const rotator = loaded.get(name);
  if (!rotator) {
    throw new PermanentError(`rotator ${name} is not available in this build of rotor`, {
      hint: `available: ${knownRotators().join(', ')}`,
    });
  }
  return rotator;
}

/** The rotator of secrets a person rotates (`rotor attest`): the scheduler and `rotor rotate` start no run for them. */
export { MANUAL_ROTATOR } from '../../rotators/manual/descriptor.js';
/** A manual secret's value from what a person gives `rotor attest --value-stdin` (its store layout). */
export { manualFields, parseManualValue } from '../../rotators/manual/value.js';
export { manualParamsSchema } from '../../rotators/manual/schema.js';
