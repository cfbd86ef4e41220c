// The built-in rotators' code, loaded on first use so a worker only loads what its policies name.
import { PermanentError } from '../errors.js';
import type { Rotator } from './contract.js';
import { isPluginSpec, requirePlugin } from './plugins.js';

const BUILT_IN: Record<string, () => Promise<{ default: Rotator<unknown> }>> = {
  postgres: () => import('../../rotators/postgres/index.js'),
  'aws-rds-master': () => import('../../rotators/aws-rds-master/index.js'),
  'random-secret': () => import('../../rotators/random-secret/index.js'),
  'redis-acl': () => import('../../rotators/redis-acl/index.js'),
  command: () => import('../../rotators/command/index.js'),
};

const loaded = new Map<string, Rotator<unknown>>();

export async function loadRotators(names: Iterable<string>): Promise<void> {
  for (const name of names) {
    if (loaded.has(name)) continue;
    const load = BUILT_IN[name];
    if (load) loaded.set(name, (await load()).default);
    // A plug-in's name is its key (an absolute path or npm:package): load it, or refuse to start.
    else if (isPluginSpec(name)) loaded.set(name, await requirePlugin(name));
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
