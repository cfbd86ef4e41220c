// Parameters of the manual rotator: where and how a person rotates the credential.
import { z } from 'zod';
import { httpUrl } from '../../src/policy/fields.js';

/** A credential no API can rotate (a partner portal's key, a hardware token): a person does it. */
export const manualParamsSchema = z.strictObject({
  target: z
    .strictObject({
      /** Where it is rotated, e.g. the partner portal's key page. */
      url: httpUrl().optional(),
      /** What the person does, shown with the due and overdue notices. */
      instructions: z.string().min(1).optional(),
    })
    .default({}),
});

export type ManualParams = z.infer<typeof manualParamsSchema>;
