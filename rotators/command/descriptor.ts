// The command rotator, declared once: name, parameters and traits; the implementation loads on demand.
import type { RotatorDescriptor } from '../../src/rotator/contract.js';
import { commandRotatorParamsSchema, type CommandParams } from './schema.js';

// Annotated, not inferred: index.ts imports this module back.
const descriptor: RotatorDescriptor<CommandParams> = {
  name: 'command',
  paramsSchema: commandRotatorParamsSchema,
  traits(params) {
    return {
      // What the policy says: rotor cannot see what the script's API does.
      overlap: params.overlap,
      drain: params.target.inUse,
      ...(params.target.revokeInherited ? { revokesInherited: true } : {}),
      targetKey: `command://${[params.target.executable, ...params.target.args].join(' ')}`,
    };
  },
  load: () => import('./index.js'),
};

export default descriptor;
