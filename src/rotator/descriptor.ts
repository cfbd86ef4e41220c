// A rotator as the catalogue hands it out: the implementation's operations under its descriptor's
// name, schema and traits, so the engine cannot read traits other than the ones validate read.
import type { Rotator, RotatorDescriptor } from './contract.js';

/** A descriptor with its parameter type erased, as the catalogue keeps them side by side. */
export type AnyRotatorDescriptor = RotatorDescriptor<Record<string, unknown>>;

/** The operations of the contract: required first, then the optional ones. */
export const REQUIRED_METHODS = ['generate', 'apply', 'verify', 'revoke'] as const;
export const OPTIONAL_METHODS = ['preflight', 'inUse', 'terminate', 'revokeInherited'] as const;

/**
 * `rotator`'s operations (bound, so a plug-in written as a class keeps its `this`) with the
 * descriptor's schema and traits. A plain object: callers may spread it to wrap an operation.
 */
export function describedRotator<P>(descriptor: RotatorDescriptor<P>, rotator: Rotator<P>): Rotator<P> {
  const out: Record<string, unknown> = {
    name: rotator.name,
    contractVersion: rotator.contractVersion,
    paramsSchema: descriptor.paramsSchema,
    traits: (params: P, secretId: string) => descriptor.traits(params, secretId),
  };
  for (const m of [...REQUIRED_METHODS, ...OPTIONAL_METHODS]) {
    const fn = rotator[m];
    if (typeof fn === 'function') out[m] = fn.bind(rotator);
  }
  return out as unknown as Rotator<P>;
}
