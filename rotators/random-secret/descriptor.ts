// The random-secret rotator, declared once: name, parameters and traits; the implementation loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { randomSecretParamsSchema, type RandomSecretParams } from './schema.js';

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<RandomSecretParams> = {
  name: 'random-secret',
  paramsSchema: randomSecretParamsSchema,
  traits(params, secretId) {
    return {
      // Consumers read CURRENT from the store and both versions stay readable through grace.
      overlap: true,
      drain: false,
      // The store is the only target, so the revoke step clears PREVIOUS.
      storeIsTarget: true,
      // Opt-in: the old value also rides in CURRENT, under `previous`, until revoke. Read with `?.`:
      // policies stored before the setting existed (and hand-built ones) have no `target`.
      ...((params as Partial<RandomSecretParams>).target?.publishPrevious ? { publishesPrevious: true } : {}),
      // Each secret is a target of its own: nothing is shared that staggering would protect.
      targetKey: `random-secret://${secretId}`,
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
