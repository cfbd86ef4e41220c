// Parameters of the ldap rotator (OpenLDAP, Active Directory), as written under a secret in a policy.
// The transport is checked here, at validate time: plain LDAP carries the admin password in clear,
// so it is accepted only to a loopback host or when the policy says `insecure: true`.
import { z } from 'zod';
import { credentialRef } from '../../src/rotator/params.js';
import { strongGenerateRulesSchema } from '../../src/rotator/password.js';
import { isLoopbackHost } from '../../src/rotator/loopback.js';

/**
 * A distinguished name such as `uid=app,ou=services,dc=example,dc=com`. rotor only hands DNs to
 * the server as DNs (bind, modify); where one goes into a filter it is escaped (ldapts' escapeFilter).
 */
export const distinguishedName = z
  .string()
  .max(1024)
  .regex(/^[A-Za-z][A-Za-z0-9-]*=[^\0\r\n]+$/, { message: 'must be a distinguished name such as uid=app,ou=services,dc=example,dc=com' });

/** `ldaps://host[:port]` or `ldap://host[:port]`: scheme, host and port only. */
const ldapUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'ldap:' || u.protocol === 'ldaps:') && !!u.hostname && !u.username && !u.password && /^\/?$/.test(u.pathname);
    } catch {
      return false;
    }
  },
  { message: 'must be ldaps://host[:port] or ldap://host[:port] (scheme, host and port only; no credentials in it)' },
);

const connection = {
  /** Where the directory listens: `ldaps://` (TLS from the start) or `ldap://` (StartTLS unless told otherwise). */
  url: ldapUrl,
  /** The account rotor binds as to change passwords. */
  admin: z.strictObject({
    /** Its DN (for Active Directory also `user@domain` or `DOMAIN\user`). */
    dn: z.string().min(1).max(1024),
    /** Reference to its password (env:NAME, file:PATH, aws-sm:ID). */
    password: credentialRef(),
  }),
  /**
   * With an `ldap://` URL: upgrade with StartTLS before anything is sent.
   * @defaultValue true, or false when the URL's host is loopback (localhost, 127.0.0.0/8, ::1)
   */
  startTLS: z.boolean().optional(),
  /** Reference to the PEM certificate(s) of the CA that signs the server's certificate. @defaultValue the system's trust store */
  ca: credentialRef().optional(),
  /**
   * Allows plain LDAP (no LDAPS, no StartTLS) to a host that is not loopback: the admin password and
   * every new password then cross the network in clear. `plan` flags it. @defaultValue false
   */
  insecure: z.boolean().default(false),
  /**
   * `openldap` (any directory that implements the Password Modify extended operation, RFC 3062: the
   * server hashes the password and applies its password policy), or `active-directory` (`unicodePwd`).
   * @defaultValue openldap
   */
  directory: z.enum(['openldap', 'active-directory']).default('openldap'),
  /**
   * How an old account's password is revoked with alternating accounts: `random-password` sets one
   * nobody knows; `disable` (Active Directory only) also sets ACCOUNTDISABLE in userAccountControl,
   * and the next rotation that gives the account a password enables it again. @defaultValue random-password
   */
  revokeBy: z.enum(['random-password', 'disable']).default('random-password'),
};

const generate = strongGenerateRulesSchema;

type Transport = { url: string; startTLS?: boolean | undefined; insecure: boolean; directory: string; revokeBy: string };

/** Refuses plain LDAP to a remote host unless opted in, and `disable` outside Active Directory. */
function checkTransport(t: Transport, ctx: z.core.$RefinementCtx): void {
  if (transportOf(t) === 'plain' && !t.insecure && !isLoopbackHost(new URL(t.url).hostname)) {
    ctx.addIssue({
      code: 'custom',
      path: ['startTLS'],
      message:
        'plain LDAP to a host that is not loopback sends the admin password in clear: use an ldaps:// URL or startTLS: true, or set insecure: true to accept it',
    });
  }
  if (t.revokeBy === 'disable' && t.directory !== 'active-directory') {
    ctx.addIssue({
      code: 'custom',
      path: ['revokeBy'],
      message: 'revokeBy: disable sets userAccountControl, which only Active Directory has; use random-password',
    });
  }
}

export const ldapParamsSchema = z.discriminatedUnion('strategy', [
  z.strictObject({
    /** One account whose password changes in place: the old password stops at once (no overlap). The default. */
    strategy: z.literal('single-user').default('single-user'),
    target: z.strictObject({ ...connection, user: distinguishedName }).superRefine(checkTransport),
    generate,
  }),
  z.strictObject({
    /**
     * Two accounts, both members of one group that holds their access: the one not in use gets the
     * new password, so the old credential keeps working through grace.
     */
    strategy: z.literal('alternating-accounts'),
    target: z
      .strictObject({
        ...connection,
        accounts: z.tuple([distinguishedName, distinguishedName]).refine(([a, b]) => a.toLowerCase() !== b.toLowerCase(), {
          message: 'the two accounts must differ',
        }),
        /** The group both accounts are members of (`member` or `uniqueMember`); preflight checks it. */
        group: distinguishedName,
      })
      .superRefine(checkTransport),
    generate,
  }),
]);

export type LdapParams = z.infer<typeof ldapParamsSchema>;

/** What protects the connection: TLS from the start, StartTLS, or nothing. */
export function transportOf(t: Pick<Transport, 'url' | 'startTLS'>): 'ldaps' | 'starttls' | 'plain' {
  const u = new URL(t.url);
  if (u.protocol === 'ldaps:') return 'ldaps';
  return (t.startTLS ?? !isLoopbackHost(u.hostname)) ? 'starttls' : 'plain';
}

/** `ldap://host:port` with the scheme's default port written out, host lower-cased. */
export function serverOf(url: string): { host: string; port: number; secure: boolean } {
  const u = new URL(url);
  const secure = u.protocol === 'ldaps:';
  return { host: u.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : secure ? 636 : 389, secure };
}

/** The accounts a policy names: rotor never changes the password of any other entry. */
export function managedAccounts(params: LdapParams): readonly string[] {
  return params.strategy === 'alternating-accounts' ? params.target.accounts : [params.target.user];
}
