// The postgres rotator: alternating users (two login roles in one NOLOGIN group) and single user.
// Passwords reach the server only as SCRAM-SHA-256 verifiers built here.
import pg from 'pg';
import { PermanentError } from '../../src/errors.js';
import { redactError, trackSecret } from '../../src/redact.js';
import { implementRotator, type RotatorContext } from '../../src/rotator/contract.js';
import descriptor from './descriptor.js';
import { classify, isAuthFailure, sqlState, withClient } from './connection.js';
import { generatePassword } from '../../src/rotator/password.js';
import { findProblems, refusal } from './preflight.js';
import { clearPassword, countSessions, setPassword, terminateSessions } from './role-sql.js';
import type { PostgresParams } from './schema.js';
import { assertManaged, credentialOf, endpointOf, nextUsername, resolveTarget, type Credential, type Target } from './target.js';

export { ensureAlternatingRoles, ensureSingleUser, type AlternatingRolesSpec, type SingleUserSpec } from './setup.js';
export { postgresParamsSchema, type PostgresParams } from './schema.js';

type Ctx = RotatorContext<PostgresParams>;

export default implementRotator<PostgresParams>(descriptor, {
  async preflight(ctx, current) {
    if (current) {
      trackSecret(current);
      assertManaged(ctx, String(current.username ?? ''));
    }
    const t = await resolveTarget(ctx);
    const terminate = ctx.drainMode === 'terminate';
    const problems = await asAdmin(ctx, t, 'checking the target', (c) => findProblems(c, ctx.params, { terminate }));
    if (problems.length) throw refusal(ctx.secretId, ctx.params, problems);
  },

  async generate(ctx, current) {
    const { host, port, database } = ctx.params.target;
    // The admin URL is read only when it supplies the host or port.
    const t = host && port ? { host, port } : await resolveTarget(ctx);
    const password = generatePassword(ctx.params.generate);
    trackSecret(password);
    const value: Credential = {
      engine: 'postgres',
      host: t.host,
      port: t.port,
      dbname: database,
      username: nextUsername(ctx, current),
      password,
    };
    return value;
  },

  async apply(ctx, next, current) {
    const t = await resolveTarget(ctx);
    const cred = credentialOf(ctx, t, next);
    if (ctx.params.strategy === 'alternating-users' && current?.username === cred.username) {
      throw new PermanentError(
        `${ctx.secretId}: refusing to change the password of ${cred.username}: the current credential uses that role`,
        {
          hint: 'alternating users give each new password to the role not in use; check the CURRENT and PENDING versions in the store',
        },
      );
    }
    if (await canLogin(ctx, t, cred)) {
      ctx.log.info({ role: cred.username }, 'the new credential already works; nothing to apply');
      return;
    }
    await asAdmin(ctx, t, `setting the password of ${cred.username}`, (c) => setPassword(c, cred.username, cred.password));
    ctx.log.info({ role: cred.username }, 'password set (SCRAM-SHA-256 verifier)');
  },

  async verify(ctx, value) {
    const t = await resolveTarget(ctx);
    const cred = credentialOf(ctx, t, value);
    const where = `${cred.host}:${cred.port}/${cred.dbname}`;
    let who: string | undefined;
    try {
      who = await withClient(
        endpointOf(t, cred),
        ctx.signal,
        async (c) => (await c.query<{ u: string }>('select current_user as u')).rows[0]?.u,
      );
    } catch (err) {
      if (!isAuthFailure(err)) throw classify(`${ctx.secretId}: could not verify ${cred.username}'s credential at ${where}`, err);
      throw new Error(`${ctx.secretId}: PostgreSQL at ${where} refused the credential for ${cred.username} (SQLSTATE ${sqlState(err)})`, {
        cause: redactError(err as Error),
      });
    }
    if (who !== cred.username)
      throw new Error(`${ctx.secretId}: logging in as ${cred.username} at ${where} gave current_user ${who ?? '(none)'}`);
  },

  async revoke(ctx, revoke, keep) {
    const t = await resolveTarget(ctx);
    const gone = credentialOf(ctx, t, revoke);
    if (!keep) {
      // The undo of a first rotation's password (invariant 8): nothing of rotor's stays. Only a
      // password that logs in is rotor's to remove; otherwise apply never took, and the role keeps
      // what it had before rotor, which its consumers may still use.
      if (!(await canLogin(ctx, t, gone))) return;
      await asAdmin(ctx, t, `removing the password of ${gone.username}`, (c) => clearPassword(c, gone.username));
      ctx.log.info({ role: gone.username }, "password removed: the first rotation's credential was discarded");
      return;
    }
    const kept = credentialOf(ctx, t, keep);
    if (gone.username === kept.username) {
      // One role, one password: revoking one credential means putting the other one back.
      if (await canLogin(ctx, t, kept)) return;
      await asAdmin(ctx, t, `restoring the password of ${kept.username}`, (c) => setPassword(c, kept.username, kept.password));
      ctx.log.info({ role: kept.username }, 'password restored to the credential kept');
      return;
    }
    await retire(ctx, t, gone.username, kept);
  },

  // Invariant 7 (docs/design.md). A single user's apply replaced the password it had; with two
  // roles, the one rotor did not give the first password may still hold one set by hand.
  async revokeInherited(ctx, keep) {
    if (ctx.params.strategy !== 'alternating-users') return 0;
    const t = await resolveTarget(ctx);
    const kept = credentialOf(ctx, t, keep);
    const other = ctx.params.target.users.find((u) => u !== kept.username);
    if (!other) return 0;
    await retire(ctx, t, other, kept);
    return 1;
  },

  async inUse(ctx, value) {
    const t = await resolveTarget(ctx);
    const { username } = credentialOf(ctx, t, value);
    return asAdmin(ctx, t, `counting the sessions of ${username}`, (c) => countSessions(c, username));
  },

  async terminate(ctx, value) {
    const t = await resolveTarget(ctx);
    const { username } = credentialOf(ctx, t, value);
    const ended = await asAdmin(ctx, t, `terminating the sessions of ${username}`, (c) => terminateSessions(c, username), {
      // Ending another role's sessions takes membership in it, or pg_signal_backend.
      deniedHint: `let rotor's admin end other roles' sessions: GRANT pg_signal_backend TO ${pg.escapeIdentifier(t.admin.user)};`,
    });
    ctx.log.info({ role: username, terminated: ended }, 'sessions terminated');
    return ended;
  },
});

/** Removes `role`'s password, once `kept` is known to log in: never leave a target where neither works. */
async function retire(ctx: Ctx, t: Target, role: string, kept: Credential): Promise<void> {
  if (!(await canLogin(ctx, t, kept))) {
    throw new PermanentError(`${ctx.secretId}: refusing to revoke ${role}: the credential to keep, for ${kept.username}, does not work`, {
      hint: `check ${kept.username}'s password on the server against the store before revoking anything`,
    });
  }
  await asAdmin(ctx, t, `removing the password of ${role}`, (c) => clearPassword(c, role));
  ctx.log.info({ role }, 'password removed');
}

/** Runs `fn` on a fresh admin connection; errors come out scrubbed and classed. */
async function asAdmin<T>(
  ctx: Ctx,
  t: Target,
  what: string,
  fn: (c: pg.Client) => Promise<T>,
  opts: { deniedHint?: string } = {},
): Promise<T> {
  try {
    return await withClient(t.admin, ctx.signal, fn);
  } catch (err) {
    const safe = classify(`${ctx.secretId}: ${what} as ${t.admin.user} on ${t.admin.host}:${t.admin.port}/${t.database}`, err);
    if (opts.deniedHint && sqlState(err) === '42501') throw new PermanentError(safe.message, { cause: safe.cause, hint: opts.deniedHint });
    throw safe;
  }
}

/** True when `cred` logs in, false when the server refuses it; throws when the server cannot be asked. */
async function canLogin(ctx: Ctx, t: Target, cred: Credential): Promise<boolean> {
  try {
    await withClient(endpointOf(t, cred), ctx.signal, async () => undefined);
    return true;
  } catch (err) {
    if (isAuthFailure(err)) return false;
    throw classify(`${ctx.secretId}: could not try ${cred.username}'s credential at ${cred.host}:${cred.port}/${cred.dbname}`, err);
  }
}
