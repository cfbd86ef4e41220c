// The built-in rotators' code, loaded on first use so a worker only loads what its policies name.
import { PermanentError } from '../errors.js';
import type { Rotator } from './contract.js';

const BUILT_IN: Record<string, () => Promise<{ default: Rotator<unknown> }>> = {
  postgres: () => import('../../rotators/postgres/index.js'),
};

const loaded = new Map<string, Rotator<unknown>>();

export async function loadRotators(names: Iterable<string>): Promise<void> {
  for (const name of names) {
    if (loaded.has(name)) continue;
    const load = BUILT_IN[name];
    if (load) loaded.set(name, (await load()).default);
  }
}

export function rotatorFor(name: string): Rotator<unknown> {
  const rotator = loaded.get(name);
  if (!rotator) {
    throw new PermanentError(`rotator ${name} is not available in this build of rotor`, {
      hint: `available: ${Object.keys(BUILT_IN).join(', ')}`,
    });
  }
  return rotator;
}
