// The manual rotator: rotor cannot make up a manual credential, so generate refuses with what to do
// instead. The scheduler starts no run for a manual secret and `rotor rotate` refuses one
// (src/engine/request.ts); generate is the backstop for a run that got started anyway, which
// therefore ends at its create step. The one run a manual secret has is an attested rotation
// (`rotor attest --value-stdin`, src/engine/attest.ts): a person rotated the credential where it is
// issued and gave rotor the new value, which the create step adopts. What the other steps would do
// at a target (apply, verify, revoke the old credential) is that person's, done where it is issued:
// here they do nothing. rotor tells the consumers, waits out grace and collects confirmations.
import { PermanentError } from '../../src/errors.js';
import { implementRotator } from '../../src/rotator/contract.js';
import descriptor from './descriptor.js';
import type { ManualParams } from './schema.js';

export { manualParamsSchema, type ManualParams } from './schema.js';

export default implementRotator<ManualParams>(descriptor, {
  async generate(ctx) {
    throw new PermanentError(`${ctx.secretId} is rotated by a person (rotator: manual): rotor does not rotate it`, {
      hint: `rotate it where it is issued, then record it with: rotor attest ${ctx.secretId} --reason TEXT (add --value-stdin to hand rotor the new value)`,
    });
  },
  async apply() {
    // Applied where it is issued, by the person who attested it.
  },
  async verify() {
    // No API to authenticate against: the person who attested the value vouches for it.
    return { checked: false };
  },
  async revoke() {
    // What a run would revoke (the old credential at its end, the new one on a rollback) is deleted
    // where it is issued, by a person: docs/governance.md says when.
  },
});
