// Parameters of the postgres rotator, as written under a secret in a policy.
import { z } from 'zod';
import { credentialRef, generateRulesSchema } from '../../src/rotator/params.js';

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_$]{0,62}$/, { message: 'must be a lower-case PostgreSQL role name (a-z, 0-9, _, at most 63 characters)' });

const connection = {
  /** Host of the target server; defaults to the admin URL's host. */
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  database: z.string().min(1),
  /** Reference to a connection URL of a role allowed to ALTER ROLE the users (CREATEROLE). */
  admin: credentialRef(),
  /** @defaultValue prefer */
  sslmode: z.enum(['disable', 'prefer', 'require', 'verify-full']).default('prefer'),
};

export const postgresParamsSchema = z.discriminatedUnion('strategy', [
  z.strictObject({
    /**
     * Two login roles, both members of one NOLOGIN group role that holds the grants: the inactive
     * one gets the new password, so the old credential keeps working through grace.
     */
    strategy: z.literal('alternating-users'),
    target: z
      .strictObject({
        ...connection,
        users: z.tuple([identifier, identifier]).refine(([a, b]) => a !== b, { message: 'the two users must differ' }),
        /** The NOLOGIN role that holds the grants and owns the objects. */
        group: identifier,
      }),
    generate: generateRulesSchema,
  }),
  z.strictObject({
    /** One login role whose password changes in place: the old password stops at once. */
    strategy: z.literal('single-user'),
    target: z.strictObject({ ...connection, user: identifier }),
    generate: generateRulesSchema,
  }),
]);

export type PostgresParams = z.infer<typeof postgresParamsSchema>;
