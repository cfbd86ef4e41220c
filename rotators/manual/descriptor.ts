// The manual rotator, declared once: rotor tracks the cadence of a credential a person rotates
// (`rotor attest`), and never starts a run for it. The implementation loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { manualParamsSchema, type ManualParams } from './schema.js';

/** The name the scheduler, `rotor rotate` and `rotor attest` recognise. */
export const MANUAL_ROTATOR = 'manual';

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<ManualParams> = {
  name: MANUAL_ROTATOR,
  paramsSchema: manualParamsSchema,
  traits(_params, secretId) {
    return {
      // A person replaces the credential; rotor promises nothing about old and new at once.
      overlap: false,
      drain: false,
      // Each secret is its own target: nothing is shared that staggering would protect.
      targetKey: `manual://${secretId}`,
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
