// Parameters of the random-secret rotator, as written under a secret in a policy.
import { z } from 'zod';

export const RANDOM_ALPHABETS = ['alnum', 'hex', 'base64', 'base64url', 'ascii-printable'] as const;

/** A value rotor makes up itself (API keys, signing keys); its consumers are the whole target. */
export const randomSecretParamsSchema = z.strictObject({
  generate: z
    .strictObject({
      /** Characters of the value (alnum, ascii-printable), or random bytes (hex, base64, base64url). */
      length: z.number().int().min(16).max(1024).default(32),
      alphabet: z.enum(RANDOM_ALPHABETS).default('alnum'),
      /** plain: stored as generated; base64: stored base64-encoded, for systems that expect that. */
      encoding: z.enum(['plain', 'base64']).default('plain'),
    })
    .default({ length: 32, alphabet: 'alnum', encoding: 'plain' }),
  /** The store is the target; what it publishes. */
  target: z
    .strictObject({
      /**
       * Through grace, CURRENT holds `{"value": new, "previous": old}` for consumers that read one
       * value and accept a list of keys; the revoke step publishes `{"value": new}` again. @defaultValue false
       */
      publishPrevious: z.boolean().default(false),
    })
    .default({ publishPrevious: false }),
});

export type RandomSecretParams = z.infer<typeof randomSecretParamsSchema>;
