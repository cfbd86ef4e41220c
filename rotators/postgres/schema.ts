// Parameters of the postgres rotator, as written under a secret in a policy.
import { z } from 'zod';
import { credentialRef } from '../../src/rotator/params.js';
import { strongGenerateRulesSchema } from '../../src/rotator/password.js';

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_$]{0,62}$/, { message: 'must be a lower-case PostgreSQL role name (a-z, 0-9, _, at most 63 characters)' });

const connection = {
  /** Host of the target server (what consumers connect to). @defaultValue the admin URL's host */
  host: z.string().min(1).optional(),
  /** @defaultValue the admin URL's port, else 5432 */
  port: z.number().int().min(1).max(65535).optional(),
  /** The database consumers use; rotor's own connections (admin, verify) go to it too. */
  database: z.string().min(1),
  /** Reference to a connection URL of a role allowed to ALTER ROLE the users (CREATEROLE). */
  admin: credentialRef(),
  /**
   * TLS for every connection rotor makes to the target. `verify-full` checks the certificate and
   * the host name. `prefer` tries TLS without verifying and falls back to plain TCP when the server
   * has no TLS (anyone in the path can force that, and the admin password then crosses in clear);
   * `require` encrypts without verifying; `disable` sends everything in clear: `plan` flags all
   * three. An `sslmode` in the admin URL overrides this for the admin connection.
   * @defaultValue verify-full, or prefer when the host is loopback (localhost, 127.0.0.0/8, ::1, a Unix socket)
   */
  sslmode: z.enum(['disable', 'prefer', 'require', 'verify-full']).optional(),
};

const generate = strongGenerateRulesSchema;

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
      })
      .refine((t) => !t.users.includes(t.group), { message: 'the group role must not be one of the users', path: ['group'] }),
    generate,
  }),
  z.strictObject({
    /** One login role whose password changes in place: the old password stops at once. */
    strategy: z.literal('single-user'),
    target: z.strictObject({ ...connection, user: identifier }),
    generate,
  }),
]);

export type PostgresParams = z.infer<typeof postgresParamsSchema>;
export type AlternatingParams = Extract<PostgresParams, { strategy: 'alternating-users' }>;

/** The login roles a policy names: rotor never changes the password of any other role. */
export function loginRoles(params: PostgresParams): readonly string[] {
  return params.strategy === 'alternating-users' ? params.target.users : [params.target.user];
}
