// The consumer catalogue: every consumer type a policy may name, one descriptor each, one line
// each below. validate reads the schemas; the runtime loads the implementations.
import { PermanentError } from '../errors.js';
import commandDescriptor from './command/descriptor.js';
import ecsDescriptor from './ecs/descriptor.js';
import type { Consumer, ConsumerDescriptor } from './contract.js';
import envFileDescriptor from './env-file/descriptor.js';
import kubernetesDescriptor from './kubernetes/descriptor.js';
import notifyDescriptor from './notify/descriptor.js';
import webhookDescriptor from './webhook/descriptor.js';

export { COMMON_CONSUMER_KEYS } from './common.js';

/** A descriptor with its params type erased, as the catalogue keeps them side by side. */
export type AnyConsumerDescriptor = ConsumerDescriptor<never>;

export const BUILT_IN_CONSUMERS: readonly AnyConsumerDescriptor[] = [
  webhookDescriptor,
  envFileDescriptor,
  commandDescriptor,
  notifyDescriptor,
  ecsDescriptor,
  kubernetesDescriptor,
];

const BY_TYPE = new Map(BUILT_IN_CONSUMERS.map((d) => [d.type, d]));

export function consumerKind(type: string): AnyConsumerDescriptor | undefined {
  return BY_TYPE.get(type);
}

export function knownConsumerTypes(): string[] {
  return [...BY_TYPE.keys()];
}

const loaded = new Map<string, Consumer<unknown>>();

/** Loads the implementations of `types` (every built-in type when omitted); the engine asks for them synchronously. */
export async function loadConsumers(types: Iterable<string> = BY_TYPE.keys()): Promise<void> {
  for (const type of types) {
    const d = BY_TYPE.get(type);
    if (d && !loaded.has(type)) loaded.set(type, (await d.load()) as Consumer<unknown>);
  }
}

/** A loaded consumer implementation, for the engine. */
export function consumerFor(type: string): Consumer<unknown> {
  const consumer = loaded.get(type);
  if (!consumer) {
    throw new PermanentError(`consumer type ${type} is not available in this build of rotor`, {
      hint: `available: ${knownConsumerTypes().join(', ')}`,
    });
  }
  return consumer;
}
