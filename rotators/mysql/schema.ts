// Parameters of the mysql rotator (MySQL ≥ 8.0.14, MariaDB ≥ 10.4), as written under a secret in a
// policy. Names are validated so strictly that none ever needs quoting: what reaches the server is
// quoted anyway, but a name that would need it is refused here, at validate time.
import { z } from 'zod';
import { credentialRef } from '../../src/rotator/params.js';
import { strongGenerateRulesSchema } from '../../src/rotator/password.js';
import { isLoopbackHost } from '../../src/rotator/loopback.js';

/** User and role names: letters, digits, `_`; 32 characters, MySQL's limit (MariaDB allows 80). */
export const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, {
  message: 'must be a MySQL user or role name that needs no quoting (A-Z, a-z, 0-9, _, at most 32 characters, not starting with a digit)',
});

/** The host part of `'user'@'host'`: `%`, a host name, an IP address or a pattern of them. */
export const accountHost = z.string().regex(/^[A-Za-z0-9.%_:-]{1,255}$/, {
  message: 'must be an account host such as %, 10.0.%, app.internal or 10.0.0.0/255.255.0.0 (letters, digits, . % _ : - only)',
});

const databaseName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, {
  message: 'must be a database name that needs no quoting (A-Z, a-z, 0-9, _, at most 64 characters)',
});

/** Privileges a provisioning grant may name (static privileges both servers know). */
export const PRIVILEGES = [
  'ALL PRIVILEGES',
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'INDEX',
  'ALTER',
  'REFERENCES',
  'CREATE TEMPORARY TABLES',
  'LOCK TABLES',
  'EXECUTE',
  'CREATE VIEW',
  'SHOW VIEW',
  'CREATE ROUTINE',
  'ALTER ROUTINE',
  'EVENT',
  'TRIGGER',
] as const;

/** `db.*` or `db.table`: what a grant is on. `*.*` is refused: an application user needs no global privileges. */
const grantTarget = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}\.(\*|[A-Za-z_][A-Za-z0-9_]{0,63})$/, {
  message: 'must be db.* or db.table (names that need no quoting)',
});

export const grantSchema = z.strictObject({
  privileges: z.array(z.enum(PRIVILEGES)).min(1),
  on: grantTarget,
});
export type Grant = z.infer<typeof grantSchema>;

const connection = {
  /** Host of the server (what consumers connect to). @defaultValue the admin URL's host */
  host: z.string().min(1).optional(),
  /** @defaultValue the admin URL's port, else 3306 */
  port: z.number().int().min(1).max(65535).optional(),
  /** The database consumers use (`dbname` in the stored credential); verify connects to it when set. */
  database: databaseName.optional(),
  /**
   * Reference to a `mysql://user:password@host:port/` URL of an account with CREATE USER, SELECT on
   * the mysql schema (to read accounts and grants), PROCESS (drain) and CONNECTION ADMIN or SUPER
   * (terminate); with provision, also the privileges it grants, WITH GRANT OPTION.
   */
  admin: credentialRef(),
  /**
   * TLS for every connection rotor makes. `require` encrypts without verifying the certificate,
   * `verify-full` verifies it and the host name. @defaultValue disable for a loopback admin host, else require
   */
  tls: z.enum(['disable', 'require', 'verify-full']).optional(),
  /** The host part of the accounts, `'user'@'<accountHost>'`. @defaultValue % */
  accountHost: accountHost.default('%'),
  /** Create the user(s) (and role) when missing, with `grants`. Idempotent; every statement is logged. @defaultValue false */
  provision: z.boolean().default(false),
  /** What provisioning grants (to the role with alternating users, else to the user). */
  grants: z.array(grantSchema).default([]),
};

const generate = strongGenerateRulesSchema;

export const mysqlParamsSchema = z.discriminatedUnion('strategy', [
  z.strictObject({
    /**
     * One user, two passwords during grace: MariaDB's authentication chain (`IDENTIFIED VIA ... OR
     * ...`), MySQL's `RETAIN CURRENT PASSWORD`. The default.
     */
    strategy: z.literal('dual-password').default('dual-password'),
    target: z.strictObject({ ...connection, user: identifier }),
    generate,
  }),
  z.strictObject({
    /** Two users that get every privilege from one role (their default role); the inactive one gets the new password. */
    strategy: z.literal('alternating-users'),
    target: z
      .strictObject({
        ...connection,
        users: z.tuple([identifier, identifier]).refine(([a, b]) => a !== b, { message: 'the two users must differ' }),
        role: identifier,
      })
      .refine((t) => !t.users.includes(t.role), { message: 'the role must not be one of the users', path: ['role'] }),
    generate,
  }),
  z.strictObject({
    /** One user whose password changes in place: the old password stops at once (no overlap). */
    strategy: z.literal('single-user'),
    target: z.strictObject({ ...connection, user: identifier }),
    generate,
  }),
]);

export type MysqlParams = z.infer<typeof mysqlParamsSchema>;
export type AlternatingParams = Extract<MysqlParams, { strategy: 'alternating-users' }>;

/** The users a policy names: rotor never changes the password of any other account. */
export function managedUsers(params: MysqlParams): readonly string[] {
  return params.strategy === 'alternating-users' ? params.target.users : [params.target.user];
}

/** The TLS mode for `host`: the policy's, else none on loopback and `require` elsewhere. */
export function tlsFor(params: MysqlParams, host: string): 'disable' | 'require' | 'verify-full' {
  return params.target.tls ?? (isLoopbackHost(host) ? 'disable' : 'require');
}
