// The command consumer type, declared once: its entry schema; the implementation
// (a program run after each promote) loads on demand.
import { z } from 'zod';
import { duration } from '../../policy/fields.js';
import { ROTOR_OWN_VARIABLE, ROTOR_OWN_VARIABLE_REFUSED } from '../../trust-roots.js';
import type { ConsumerDescriptor } from '../contract.js';
import { consumerEntrySchema, type ConsumerParamsOf } from '../common.js';

export const commandEntrySchema = consumerEntrySchema('command', {
  /** Executable run after each promote (no shell); a non-zero exit fails the consumer. */
  run: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** Pass the value on stdin as JSON; otherwise only ids and the version id. @defaultValue false */
  passValue: z.boolean().default(false),
  /** @defaultValue 60s */
  timeout: duration().default('60s'),
  /** Variables of rotor's environment to pass on besides PATH, HOME, LANG and the like. @defaultValue [] */
  inheritEnv: z
    .array(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })
        .refine((name) => !ROTOR_OWN_VARIABLE.test(name), { error: ROTOR_OWN_VARIABLE_REFUSED }),
    )
    .optional(),
});

export type CommandParams = ConsumerParamsOf<typeof commandEntrySchema>;

// Annotated, not inferred: index.ts imports this module back.
const descriptor: ConsumerDescriptor<CommandParams> = {
  type: 'command',
  carriesValue: true,
  schema: commandEntrySchema,
  load: async () => (await import('./index.js')).commandConsumer,
};

export default descriptor;
