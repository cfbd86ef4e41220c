// The ldap rotator: a service account's password in an LDAP directory (OpenLDAP and any server with
// the Password Modify extended operation; Active Directory's unicodePwd). Single user (the password
// changes in place) or alternating accounts (two accounts in one group; the one not in use gets the
// new password). Every connection is LDAPS or StartTLS unless the schema allowed plain LDAP.
import { PermanentError } from '../../src/errors.js';
import { trackSecret } from '../../src/redact.js';
import { implementRotator, type RotatorContext, type SecretValue } from '../../src/rotator/contract.js';
import { DEFAULT_EXCLUDED_CHARACTERS } from '../../src/rotator/params.js';
import { generatePassword } from '../../src/rotator/password.js';
import { classify, isAuthFailure, withClient, type Endpoint } from './connection.js';
import descriptor from './descriptor.js';
import { entryExists, isMember, setDisabled, setPassword } from './directory.js';
import { managedAccounts, transportOf, type LdapParams } from './schema.js';
import type { Client } from 'ldapts';

export { ldapParamsSchema, type LdapParams } from './schema.js';

type Ctx = RotatorContext<LdapParams>;

/** An account's credential as the store keeps it: the URL consumers bind to, the bind DN, the password. */
export type Credential = { url: string; username: string; password: string };

interface Target {
  endpoint: Endpoint;
  adminDn: string;
  adminPassword: string;
}

export default implementRotator<LdapParams>(descriptor, {
  async preflight(ctx, current) {
    if (current) credentialOf(ctx, current);
    const t = await resolveTarget(ctx);
    const { params } = ctx;
    const problems = await asAdmin(ctx, t, 'checking the accounts', async (c) => {
      const found: string[] = [];
      for (const dn of managedAccounts(params))
        if (!(await entryExists(c, dn))) found.push(`account ${dn} does not exist, or the admin cannot read it`);
      if (params.strategy === 'alternating-accounts') {
        const { group, accounts } = params.target;
        if (!(await entryExists(c, group))) found.push(`group ${group} does not exist, or the admin cannot read it`);
        else
          for (const dn of accounts)
            if (!(await isMember(c, group, dn))) found.push(`account ${dn} is not a member (member or uniqueMember) of ${group}`);
      }
      return found;
    });
    if (params.target.directory === 'active-directory' && t.endpoint.transport === 'plain')
      problems.push('Active Directory changes passwords only over LDAPS or StartTLS');
    if (problems.length) {
      throw new PermanentError(
        `${ctx.secretId}: the directory is not set up for ${params.strategy}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        {
          hint: 'create the accounts (and with alternating accounts, add both to the group), and grant the admin the access docs/ldap.md lists; then rotate again',
        },
      );
    }
  },

  async generate(ctx, current) {
    const password = generatePassword(ctx.params.generate);
    trackSecret(password);
    const value: Credential = { url: ctx.params.target.url, username: nextAccount(ctx, current), password };
    return value;
  },

  async apply(ctx, next, current) {
    const cred = credentialOf(ctx, next);
    const old = current ? credentialOf(ctx, current) : null;
    if (ctx.params.strategy === 'alternating-accounts' && old && sameDn(old.username, cred.username)) {
      throw new PermanentError(
        `${ctx.secretId}: refusing to change the password of ${cred.username}: the current credential uses that account`,
        {
          hint: 'alternating accounts give each new password to the account not in use; check the CURRENT and PENDING versions in the store',
        },
      );
    }
    const t = await resolveTarget(ctx);
    if (await canBind(ctx, t, cred)) {
      ctx.log.info({ account: cred.username }, 'the new credential already works; nothing to apply');
      return;
    }
    const { directory, revokeBy } = ctx.params.target;
    await asAdmin(ctx, t, `setting the password of ${cred.username}`, async (c) => {
      await setPassword(c, directory, cred.username, cred.password);
      // An account a revoke disabled comes back with its new password.
      if (revokeBy === 'disable' && (await setDisabled(c, cred.username, false)))
        ctx.log.info({ account: cred.username }, 'account enabled');
    });
    ctx.log.info({ account: cred.username }, 'password set');
  },

  async verify(ctx, value) {
    const cred = credentialOf(ctx, value);
    const t = await resolveTarget(ctx);
    try {
      await withClient(t.endpoint, cred.username, cred.password, ctx.signal, async () => undefined);
    } catch (err) {
      if (!isAuthFailure(err)) throw classify(`${ctx.secretId}: could not verify ${cred.username}'s credential at ${t.endpoint.url}`, err);
      throw new Error(`${ctx.secretId}: the directory at ${t.endpoint.url} refused the credential for ${cred.username} (LDAP result 49)`);
    }
  },

  async revoke(ctx, revoke, keep) {
    const gone = credentialOf(ctx, revoke);
    const t = await resolveTarget(ctx);
    if (!keep) {
      // The undo of a first rotation's password (invariant 8): nothing of rotor's stays. Only a
      // password that binds is rotor's to take back; otherwise apply never took, and the account
      // keeps what it had before rotor.
      if (!(await canBind(ctx, t, gone))) return;
      await retire(ctx, t, gone.username, null);
      return;
    }
    const kept = credentialOf(ctx, keep);
    const { directory } = ctx.params.target;
    if (sameDn(gone.username, kept.username)) {
      if (gone.password === kept.password) return;
      // One account: revoking one password means the account keeps exactly the other (a rollback restores it).
      if ((await canBind(ctx, t, kept)) && !(await canBind(ctx, t, gone))) return;
      await asAdmin(ctx, t, `restoring the password of ${kept.username}`, (c) => setPassword(c, directory, kept.username, kept.password));
      ctx.log.info({ account: kept.username }, 'password restored; the credential kept is the only one');
      return;
    }
    await retire(ctx, t, gone.username, kept);
  },

  // Invariant 7 (docs/design.md): a single user's apply replaced its password; with two accounts,
  // the one rotor did not give the first password may still hold one set before rotor.
  async revokeInherited(ctx, keep) {
    if (ctx.params.strategy !== 'alternating-accounts') return 0;
    const kept = credentialOf(ctx, keep);
    const other = ctx.params.target.accounts.find((dn) => !sameDn(dn, kept.username));
    if (!other) return 0;
    await retire(ctx, await resolveTarget(ctx), other, kept);
    return 1;
  },
});

/**
 * Gives `dn` a password nobody knows (or disables it), once `kept` is known to bind (null: nothing
 * of rotor's stays, the undo of a first rotation's password).
 */
async function retire(ctx: Ctx, t: Target, dn: string, kept: Credential | null): Promise<void> {
  // Never leave a directory where neither credential works.
  if (kept && !(await canBind(ctx, t, kept))) {
    throw new PermanentError(`${ctx.secretId}: refusing to revoke ${dn}: the credential to keep, for ${kept.username}, does not work`, {
      hint: `check ${kept.username}'s password in the directory against the store before revoking anything`,
    });
  }
  const { directory, revokeBy } = ctx.params.target;
  // A password nobody knows, never stored: a bind with the old one gets 49 (invalid credentials).
  const unusable = generatePassword({ length: 64, exclude: DEFAULT_EXCLUDED_CHARACTERS });
  trackSecret(unusable);
  await asAdmin(ctx, t, `revoking the password of ${dn}`, async (c) => {
    await setPassword(c, directory, dn, unusable);
    if (revokeBy === 'disable' && (await setDisabled(c, dn, true))) ctx.log.info({ account: dn }, 'account disabled');
  });
  ctx.log.info({ account: dn }, 'password replaced by one nobody knows');
}

async function resolveTarget(ctx: Ctx): Promise<Target> {
  const { target } = ctx.params;
  const adminPassword = await ctx.resolveRef(target.admin.password);
  trackSecret(adminPassword);
  const ca = target.ca ? await ctx.resolveRef(target.ca) : undefined;
  return { endpoint: { url: target.url, transport: transportOf(target), ca }, adminDn: target.admin.dn, adminPassword };
}

/** Reads a credential from a stored value. Refuses an account the policy does not name. */
function credentialOf(ctx: Ctx, value: SecretValue): Credential {
  const { username, password } = value;
  if (typeof username !== 'string' || !username)
    throw new PermanentError(`${ctx.secretId}: the stored credential has no username (bind DN)`);
  if (typeof password !== 'string' || !password)
    throw new PermanentError(`${ctx.secretId}: the stored credential for ${username} has no password`);
  trackSecret(password);
  assertManaged(ctx, username);
  return { url: ctx.params.target.url, username: managedDn(ctx, username), password };
}

/** DNs compare case-insensitively in the attribute types and (for the usual string syntaxes) values. */
function sameDn(a: string, b: string): boolean {
  return a.replace(/\s*([,=])\s*/g, '$1').toLowerCase() === b.replace(/\s*([,=])\s*/g, '$1').toLowerCase();
}

/** The DN as the policy spells it. */
function managedDn(ctx: Ctx, dn: string): string {
  return managedAccounts(ctx.params).find((m) => sameDn(m, dn)) ?? dn;
}

function assertManaged(ctx: Ctx, dn: string): void {
  const managed = managedAccounts(ctx.params);
  if (managed.some((m) => sameDn(m, dn))) return;
  throw new PermanentError(
    `${ctx.secretId}: the stored credential is for ${dn}, which the policy does not name (it names ${managed.join('; ')})`,
    {
      hint: 'rotor changes only the accounts a policy names. Put the account back in the policy, or store a current credential for one of the named accounts (rotor repair)',
    },
  );
}

/** The account the next credential is for: the one not in `current` (alternating), else the one account. */
function nextAccount(ctx: Ctx, current: SecretValue | null): string {
  const { params } = ctx;
  if (params.strategy !== 'alternating-accounts') return params.target.user;
  const [first, second] = params.target.accounts;
  if (current === null) return first;
  const dn = String(current.username ?? '');
  assertManaged(ctx, dn);
  return sameDn(dn, first) ? second : first;
}

/** Runs `fn` bound as the admin; errors come out scrubbed and classed. */
async function asAdmin<T>(ctx: Ctx, t: Target, what: string, fn: (c: Client) => Promise<T>): Promise<T> {
  try {
    return await withClient(t.endpoint, t.adminDn, t.adminPassword, ctx.signal, fn);
  } catch (err) {
    throw classify(`${ctx.secretId}: ${what} as ${t.adminDn} at ${t.endpoint.url}`, err);
  }
}

/** True when `cred` binds, false when the directory refuses it (49); throws when it cannot be asked. */
async function canBind(ctx: Ctx, t: Target, cred: Credential): Promise<boolean> {
  try {
    await withClient(t.endpoint, cred.username, cred.password, ctx.signal, async () => undefined);
    return true;
  } catch (err) {
    if (isAuthFailure(err)) return false;
    throw classify(`${ctx.secretId}: could not try ${cred.username}'s credential at ${t.endpoint.url}`, err);
  }
}
