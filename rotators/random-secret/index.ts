// The random-secret rotator: API keys, signing keys, webhook secrets that rotor makes up itself.
// The secret store is the target: consumers read CURRENT, those that accept two keys also read
// PREVIOUS during grace, and the revoke step clears PREVIOUS (traits.storeIsTarget). With
// target.publishPrevious, CURRENT itself carries the old value as `previous` until revoke.
import { PermanentError } from '../../src/errors.js';
import { trackSecret } from '../../src/redact.js';
import { implementRotator, PREVIOUS_FIELD, type SecretValue } from '../../src/rotator/contract.js';
import descriptor from './descriptor.js';
import { generateValue, matchesRules } from './generate.js';
import type { RandomSecretParams } from './schema.js';

export { randomSecretParamsSchema, type RandomSecretParams } from './schema.js';
export { entropyBits, generateValue } from './generate.js';

/** The field of the stored JSON that holds the value: `{"value": "..."}`. */
export const VALUE_FIELD = 'value';

export default implementRotator<RandomSecretParams>(descriptor, {
  async generate(ctx, current): Promise<SecretValue> {
    const value = generateValue(ctx.params.generate);
    trackSecret(value);
    const previous = current?.[VALUE_FIELD];
    // Published beside the new value until the revoke step settles CURRENT without it.
    if (ctx.params.target.publishPrevious && typeof previous === 'string') return { [VALUE_FIELD]: value, [PREVIOUS_FIELD]: previous };
    return { [VALUE_FIELD]: value };
  },

  // Nothing outside the store to change: storing the value (the create step) is applying it.
  async apply() {},

  async verify(ctx, value) {
    const text = value[VALUE_FIELD];
    if (typeof text !== 'string' || !matchesRules(text, ctx.params.generate)) {
      throw new PermanentError(`${ctx.secretId}: the staged value does not have the shape its generate rules describe`, {
        hint: 'check the version in the store: rotor stores {"value": "..."} made under the policy\'s generate rules',
      });
    }
  },

  // The old value stops working when it leaves PREVIOUS, which the engine does at the revoke step.
  async revoke() {},
});
