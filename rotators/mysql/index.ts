// The mysql rotator (MySQL ≥ 8.0.14, MariaDB ≥ 10.4): dual password (one user, two passwords in
// grace), alternating users (two users with one default role), single user. Passwords reach a
// MariaDB server only as mysql_native_password hashes; see sql.ts for what MySQL is sent.
import { PermanentError } from '../../src/errors.js';
import { trackSecret } from '../../src/redact.js';
import { implementRotator } from '../../src/rotator/contract.js';
import { generatePassword } from '../../src/rotator/password.js';
import { killSessions, readAuth, readServer, sessionIds } from './accounts.js';
import { classify, isAuthFailure, withConnection, type Connection } from './connection.js';
import descriptor from './descriptor.js';
import { findProblems, provision, refusal, unsupported } from './preflight.js';
import type { MysqlParams } from './schema.js';
import {
  account,
  atLeast,
  mariadbChain,
  mysqlDiscard,
  mysqlRandomPassword,
  mysqlRetain,
  mysqlSetPassword,
  nativeHash,
  unusableHash,
  type Server,
} from './sql.js';
import { assertManaged, credentialOf, endpointOf, nextUsername, resolveTarget, type Credential, type Ctx, type Target } from './target.js';

export { mysqlParamsSchema, type MysqlParams } from './schema.js';
export { nativeHash } from './sql.js';

export default implementRotator<MysqlParams>(descriptor, {
  async preflight(ctx, current) {
    if (current) {
      trackSecret(current);
      assertManaged(ctx, String(current.username ?? ''));
    }
    const t = await resolveTarget(ctx);
    const problems = await asAdmin(ctx, t, 'checking the target', async (c) => {
      const server = await readServer(c);
      const refused = unsupported(server, ctx.params, t.admin.tls);
      if (refused) return [refused];
      if (ctx.params.target.provision) await provision(c, server, ctx.params, ctx.log);
      return findProblems(c, server, ctx.params, t.admin.tls);
    });
    if (problems.length) throw refusal(ctx.secretId, ctx.params, problems);
  },

  async generate(ctx, current) {
    const { host, port, database } = ctx.params.target;
    const t = host && port ? { host, port } : await resolveTarget(ctx);
    const password = generatePassword(ctx.params.generate);
    trackSecret(password);
    const value: Credential = {
      engine: 'mysql',
      host: t.host,
      port: t.port,
      ...(database ? { dbname: database } : {}),
      username: nextUsername(ctx, current),
      password,
    };
    return value;
  },

  async apply(ctx, next, current) {
    const t = await resolveTarget(ctx);
    const cred = credentialOf(ctx, t, next);
    const old = current ? credentialOf(ctx, t, current) : null;
    if (ctx.params.strategy === 'alternating-users' && old?.username === cred.username) {
      throw new PermanentError(
        `${ctx.secretId}: refusing to change the password of ${cred.username}: the current credential uses that user`,
        {
          hint: 'alternating users give each new password to the user not in use; check the CURRENT and PENDING versions in the store',
        },
      );
    }
    const acct = account(cred.username, ctx.params.target.accountHost);
    await asAdmin(ctx, t, `setting the password of ${cred.username}`, async (c) => {
      const server = await readServer(c);
      if (ctx.params.strategy === 'dual-password' && server.flavor === 'mariadb') {
        // The chain: the current password (or, the first time, every password the user has) and the new one.
        const auth = await requireAuth(ctx, c, server, cred.username);
        const keep = old ? [nativeHash(old.password)] : auth.hashes;
        return setChain(ctx, c, acct, auth.hashes, [...keep, nativeHash(cred.password)]);
      }
      if (await canLogin(ctx, t, cred)) {
        ctx.log.info({ user: cred.username }, 'the new credential already works; nothing to apply');
        return;
      }
      if (ctx.params.strategy === 'dual-password') {
        // MySQL: applying RETAIN twice would push the current password out, hence the login check above.
        await c.query(mysqlRetain(acct, cred.password));
        ctx.log.info({ user: cred.username }, 'new primary password set, the current one retained as secondary');
        return;
      }
      await setPassword(ctx, c, server, cred.username, cred.password);
    });
  },

  async verify(ctx, value) {
    const t = await resolveTarget(ctx);
    const cred = credentialOf(ctx, t, value);
    const where = `${cred.host}:${cred.port}`;
    let who: string | undefined;
    try {
      who = await withConnection(endpointOf(t, cred), ctx.signal, async (c) => {
        const [rows] = await c.query('SELECT CURRENT_USER() AS u');
        return String((rows as Array<{ u?: unknown }>)[0]?.u ?? '');
      });
    } catch (err) {
      if (!isAuthFailure(err)) throw classify(`${ctx.secretId}: could not verify ${cred.username}'s credential at ${where}`, err);
      throw new Error(`${ctx.secretId}: the server at ${where} refused the credential for ${cred.username} (error 1045)`);
    }
    if (!who.startsWith(`${cred.username}@`))
      throw new Error(`${ctx.secretId}: logging in as ${cred.username} at ${where} gave CURRENT_USER() ${who || '(none)'}`);
  },

  async revoke(ctx, revoke, keep) {
    const t = await resolveTarget(ctx);
    const gone = credentialOf(ctx, t, revoke);
    if (!keep) return undoFirst(ctx, t, gone);
    const kept = credentialOf(ctx, t, keep);
    if (gone.username === kept.username) {
      if (gone.password === kept.password) return;
      return keepOnly(ctx, t, kept, gone);
    }
    return retire(ctx, t, gone.username, kept);
  },

  // Invariant 7 (docs/design.md). What the first rotation may leave behind: MariaDB's chain or
  // MySQL's retained secondary password from before rotor, or a password set by hand on the other
  // account of a pair.
  async revokeInherited(ctx, keep) {
    const t = await resolveTarget(ctx);
    const kept = credentialOf(ctx, t, keep);
    if (ctx.params.strategy !== 'alternating-users') {
      await keepOnly(ctx, t, kept, null);
      return 1;
    }
    const other = ctx.params.target.users.find((u) => u !== kept.username);
    if (!other) return 0;
    await retire(ctx, t, other, kept);
    return 1;
  },

  async inUse(ctx, value) {
    const t = await resolveTarget(ctx);
    const { username } = credentialOf(ctx, t, value);
    return asAdmin(ctx, t, `counting the sessions of ${username}`, async (c) => (await sessionIds(c, username)).length);
  },

  async terminate(ctx, value) {
    const t = await resolveTarget(ctx);
    const { username } = credentialOf(ctx, t, value);
    const ended = await asAdmin(ctx, t, `ending the sessions of ${username}`, (c) => killSessions(c, username));
    ctx.log.info({ user: username, terminated: ended }, 'sessions ended');
    return ended;
  },
});

/** One user: leaves `kept`'s password as the user's only one (`gone`, when known, is the one to go). */
async function keepOnly(ctx: Ctx, t: Target, kept: Credential, gone: Credential | null): Promise<void> {
  await asAdmin(ctx, t, `removing a password of ${kept.username}`, async (c) => {
    const server = await readServer(c);
    const acct = account(kept.username, ctx.params.target.accountHost);
    if (server.flavor === 'mariadb') {
      const auth = await requireAuth(ctx, c, server, kept.username);
      return setChain(ctx, c, acct, auth.hashes, [nativeHash(kept.password)]);
    }
    if (gone && (await canLogin(ctx, t, kept)) && !(await canLogin(ctx, t, gone))) return;
    if (ctx.params.strategy === 'dual-password') {
      // Whichever was primary, this leaves `kept` as the only password.
      await c.query(mysqlRetain(acct, kept.password));
      await c.query(mysqlDiscard(acct));
    } else {
      await setPassword(ctx, c, server, kept.username, kept.password);
      if (atLeast(server, 8, 0, 14)) await c.query(mysqlDiscard(acct));
    }
    ctx.log.info({ user: kept.username }, 'password removed; the credential kept is the only one');
  });
}

/**
 * The undo of a first rotation's password (invariant 8): nothing of rotor's stays, so only `gone`
 * goes, and only where the account has it; a password that never took leaves the account as it
 * was before rotor. MariaDB: `gone`'s hash leaves the chain (the passwords from before rotor stay;
 * an account left with none gets one nobody knows). MySQL: a password that logs in is replaced by
 * one nobody knows; with dual password, the one from before rotor sits behind it as secondary,
 * and MySQL cannot drop a primary while keeping its secondary, so rotor refuses and says how.
 */
async function undoFirst(ctx: Ctx, t: Target, gone: Credential): Promise<void> {
  const acct = account(gone.username, ctx.params.target.accountHost);
  const server = await asAdmin(ctx, t, 'reading the server version', readServer);
  if (server.flavor === 'mariadb') {
    return asAdmin(ctx, t, `removing a password of ${gone.username}`, async (c) => {
      const auth = await requireAuth(ctx, c, server, gone.username);
      const hash = nativeHash(gone.password);
      if (!auth.hashes.includes(hash)) return;
      const left = auth.hashes.filter((h) => h !== hash);
      await setChain(ctx, c, acct, auth.hashes, left.length ? left : [unusableHash()]);
      ctx.log.info({ user: gone.username }, "password removed: the first rotation's credential was discarded");
    });
  }
  if (!(await canLogin(ctx, t, gone))) return;
  if (ctx.params.strategy === 'dual-password') {
    throw new PermanentError(
      `${ctx.secretId}: cannot take back the first rotation's password of ${gone.username}: MySQL keeps the password from before rotor as the secondary one, and cannot drop a primary password while keeping it`,
      {
        hint: `set the password the consumers use again (ALTER USER ${acct} IDENTIFIED BY '<their password>'; then ALTER USER ${acct} DISCARD OLD PASSWORD), then: rotor repair ${ctx.secretId}`,
      },
    );
  }
  await asAdmin(ctx, t, `removing the password of ${gone.username}`, async (c) => {
    await c.query(mysqlRandomPassword(acct));
    if (atLeast(server, 8, 0, 14)) await c.query(mysqlDiscard(acct));
  });
  ctx.log.info({ user: gone.username }, "password replaced by one nobody knows: the first rotation's credential was discarded");
}

/** Alternating users: gives `user` a password nobody knows, once `kept` is known to log in. */
async function retire(ctx: Ctx, t: Target, user: string, kept: Credential): Promise<void> {
  // Never leave a target where neither credential works.
  if (!(await canLogin(ctx, t, kept))) {
    throw new PermanentError(`${ctx.secretId}: refusing to revoke ${user}: the credential to keep, for ${kept.username}, does not work`, {
      hint: `check ${kept.username}'s password on the server against the store before revoking anything`,
    });
  }
  await asAdmin(ctx, t, `removing the password of ${user}`, async (c) => {
    const server = await readServer(c);
    const acct = account(user, ctx.params.target.accountHost);
    // A password nobody knows, not a lock: a login with the old one gets 1045 (a lock would be 4151).
    if (server.flavor === 'mariadb') await c.query(mariadbChain(acct, [unusableHash()]));
    else {
      await c.query(mysqlRandomPassword(acct));
      await c.query(mysqlDiscard(acct));
    }
    ctx.log.info({ user }, 'password replaced by one nobody knows');
  });
}

/** Rewrites a MariaDB chain to `wanted` (duplicates dropped) unless it holds exactly that already. */
async function setChain(ctx: Ctx, c: Connection, acct: string, have: readonly string[], wanted: readonly string[]): Promise<void> {
  const chain = [...new Set(wanted)];
  if (chain.length === have.length && chain.every((h, i) => have[i] === h)) {
    ctx.log.info({ account: acct, passwords: chain.length }, 'the authentication chain is already as wanted');
    return;
  }
  await c.query(mariadbChain(acct, chain));
  ctx.log.info({ account: acct, passwords: chain.length }, 'authentication chain set (mysql_native_password hashes)');
}

async function setPassword(ctx: Ctx, c: Connection, server: Server, user: string, password: string): Promise<void> {
  const acct = account(user, ctx.params.target.accountHost);
  if (server.flavor === 'mariadb') {
    await c.query(mariadbChain(acct, [nativeHash(password)]));
  } else {
    const auth = await requireAuth(ctx, c, server, user);
    await c.query(mysqlSetPassword(acct, auth.plugins[0] ?? 'caching_sha2_password', password));
  }
  ctx.log.info({ user }, 'password set');
}

async function requireAuth(ctx: Ctx, c: Connection, server: Server, user: string) {
  const auth = await readAuth(c, server, user, ctx.params.target.accountHost);
  if (!auth)
    throw new PermanentError(`${ctx.secretId}: account ${user}@${ctx.params.target.accountHost} does not exist`, {
      hint: 'create it, or set provision: true',
    });
  return auth;
}

/** Runs `fn` on a fresh admin connection; errors come out scrubbed and classed. */
async function asAdmin<T>(ctx: Ctx, t: Target, what: string, fn: (c: Connection) => Promise<T>): Promise<T> {
  try {
    return await withConnection(t.admin, ctx.signal, fn);
  } catch (err) {
    throw classify(`${ctx.secretId}: ${what} as ${t.admin.user} on ${t.admin.host}:${t.admin.port}`, err);
  }
}

/** True when `cred` logs in, false when the server refuses it (1045); throws when the server cannot be asked. */
async function canLogin(ctx: Ctx, t: Target, cred: Credential): Promise<boolean> {
  try {
    await withConnection(endpointOf(t, cred), ctx.signal, async () => undefined);
    return true;
  } catch (err) {
    if (isAuthFailure(err)) return false;
    throw classify(`${ctx.secretId}: could not try ${cred.username}'s credential at ${cred.host}:${cred.port}`, err);
  }
}
