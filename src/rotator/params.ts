// Schema helpers for rotator and consumer parameters: references to credentials, durations,
// password generation rules. Public API for rotator authors.
import { z } from 'zod';

/** `env:NAME`, `file:PATH`, `aws-sm:ID` or `vault:PATH#FIELD`: how a policy names a credential rotor itself needs. */
export const REF_PATTERN = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|aws-sm:.+|vault:.+)$/;

/** A reference to a credential. A literal value (a URL with a password, a key) is rejected. */
export function credentialRef() {
  return z.string().regex(REF_PATTERN, {
    message: 'must be a reference (env:NAME, file:PATH, aws-sm:ID or vault:PATH#FIELD), never the credential itself',
  });
}

/** Characters AWS's rotation templates exclude by default; `:` breaks .pgpass, quotes break shells. */
export const DEFAULT_EXCLUDED_CHARACTERS = ':/@"\'\\';

export const generateRulesSchema = z
  .strictObject({
    /** @defaultValue 32 */
    length: z.number().int().min(16).max(256).default(32),
    /** Characters never used. @defaultValue `:/@"'\` */
    exclude: z.string().default(DEFAULT_EXCLUDED_CHARACTERS),
  })
  .default({ length: 32, exclude: DEFAULT_EXCLUDED_CHARACTERS });

export type GenerateRules = z.infer<typeof generateRulesSchema>;
