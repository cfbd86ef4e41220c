// The manual rotator: no step of a run can rotate the credential, so every one refuses with what
// to do instead. The scheduler starts no run for a manual secret and `rotor rotate` refuses one
// (src/engine/request.ts); this is the backstop for a run that got started anyway.
import { PermanentError } from '../../src/errors.js';
import { implementRotator } from '../../src/rotator/contract.js';
import descriptor from './descriptor.js';
import type { ManualParams } from './schema.js';

export { manualParamsSchema, type ManualParams } from './schema.js';

function refuse(secretId: string): never {
  throw new PermanentError(`${secretId} is rotated by a person (rotator: manual): rotor does not rotate it`, {
    hint: `rotate it where it is issued, then record it with: rotor attest ${secretId} --reason TEXT`,
  });
}

export default implementRotator<ManualParams>(descriptor, {
  async generate(ctx) {
    refuse(ctx.secretId);
  },
  async apply(ctx) {
    refuse(ctx.secretId);
  },
  async verify(ctx) {
    refuse(ctx.secretId);
  },
  async revoke(ctx) {
    refuse(ctx.secretId);
  },
});
