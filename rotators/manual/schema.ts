// Parameters of the manual rotator: where and how a person rotates the credential, and the fields
// of its value (what `rotor attest --value-stdin` reads into the store).
import { z } from 'zod';
import { httpUrl } from '../../src/policy/fields.js';

/** A field name of a manual secret's value: also a variable name, so env-file consumers can carry it. */
export const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A credential no API can rotate (a partner portal's key, a hardware token): a person does it. */
export const manualParamsSchema = z.strictObject({
  target: z
    .strictObject({
      /** Where it is rotated, e.g. the partner portal's key page. */
      url: httpUrl().optional(),
      /** What the person does, shown with the due and overdue notices. */
      instructions: z.string().min(1).optional(),
      /**
       * The fields of the value in the store, e.g. `[keyId, secret]`. With one field,
       * `rotor attest --value-stdin` reads the value as plain text; with several, one JSON object
       * with exactly these keys. @defaultValue [value]
       */
      fields: z
        .array(z.string().regex(FIELD_NAME, { error: 'must be a field name such as apiKey (letters, digits, _)' }))
        .min(1)
        .max(32)
        .refine((f) => new Set(f).size === f.length, { error: 'must not name a field twice' })
        .optional(),
    })
    .default({}),
});

export type ManualParams = z.infer<typeof manualParamsSchema>;
