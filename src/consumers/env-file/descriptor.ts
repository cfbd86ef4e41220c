// The env-file consumer type, declared once: its entry schema; the implementation
// (a KEY=VALUE file written atomically) loads on demand.
import { z } from 'zod';
import { envFileAllowed } from '../../trust-roots.js';
import type { ConsumerDescriptor } from '../contract.js';
import { consumerEntrySchema, type ConsumerParamsOf } from '../common.js';

export const envFileEntrySchema = consumerEntrySchema('env-file', {
  /**
   * File written atomically, mode 0600; relative paths start at rotor's working directory. It must
   * lie under ROTOR_ENV_FILE_ROOT (default: the working directory), symlinks resolved.
   */
  path: z
    .string()
    .min(1)
    .superRefine((path, ctx) => {
      const allowed = envFileAllowed(path);
      if (!allowed.ok) ctx.addIssue({ code: 'custom', message: `${allowed.message}; ${allowed.hint}` });
    }),
  /** Prefix of the variable names: `DB` gives DB_USERNAME, DB_PASSWORD. */
  key: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be a variable name prefix such as DB' })
    .optional(),
  /** Only `env` (KEY='value' lines) so far. @defaultValue env */
  format: z.enum(['env']).default('env'),
});

export type EnvFileParams = ConsumerParamsOf<typeof envFileEntrySchema>;

// Annotated, not inferred: index.ts imports this module back.
const descriptor: ConsumerDescriptor<EnvFileParams> = {
  type: 'env-file',
  carriesValue: true,
  schema: envFileEntrySchema,
  load: async () => (await import('./index.js')).envFileConsumer,
};

export default descriptor;
