// The checks run before every rotation (server and version support the strategy, the accounts exist
// and authenticate as the strategy needs, alternating users hold exactly the role's privileges),
// and provisioning, which creates what is missing when the policy asks for it.
import { PermanentError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { readAuth, readDefaultRole, readGrants, roleExists } from './accounts.js';
import type { Connection, TlsMode } from './connection.js';
import { managedUsers, type AlternatingParams, type MysqlParams } from './schema.js';
import { account, atLeast, createUser, grant, quote, setDefaultRole, type Server } from './sql.js';

/** One thing wrong with the target, and the SQL that fixes it. */
export interface Problem {
  what: string;
  fix: string;
}

/** Refuses a server or version that cannot run the strategy: nothing else is worth checking then. */
export function unsupported(server: Server, params: MysqlParams, tls: TlsMode): Problem | undefined {
  const name = `${server.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} ${server.version.join('.')}`;
  if (server.flavor === 'mariadb' && !atLeast(server, 10, 4)) {
    return {
      what: `${name} is older than 10.4, the first MariaDB with authentication chains and IF NOT EXISTS for roles`,
      fix: '-- upgrade the server to MariaDB 10.4 or later',
    };
  }
  if (server.flavor === 'mysql' && !atLeast(server, 8, 0)) {
    return { what: `${name} is older than 8.0, the first MySQL with roles`, fix: '-- upgrade the server to MySQL 8.0.14 or later' };
  }
  if (params.strategy === 'dual-password' && server.flavor === 'mysql') {
    if (!atLeast(server, 8, 0, 14)) {
      return {
        what: `${name} has no dual passwords (RETAIN CURRENT PASSWORD came in 8.0.14)`,
        fix: '-- upgrade to MySQL 8.0.14 or later, or use strategy: alternating-users',
      };
    }
    if (tls === 'disable') {
      return {
        what: `MySQL's RETAIN CURRENT PASSWORD takes only a cleartext password, and the admin connection is not encrypted (tls: disable)`,
        fix: '-- set tls: require (or verify-full) on the target, with TLS enabled on the server',
      };
    }
  }
  return undefined;
}

export async function findProblems(c: Connection, server: Server, params: MysqlParams, tls: TlsMode): Promise<Problem[]> {
  const host = params.target.accountHost;
  const problems: Problem[] = [];
  for (const user of managedUsers(params)) {
    const acct = account(user, host);
    const auth = await readAuth(c, server, user, host);
    if (!auth) {
      problems.push({
        what: `account ${user}@${host} does not exist`,
        fix: `CREATE USER ${acct} IDENTIFIED BY '...';  -- or set provision: true`,
      });
      continue;
    }
    const foreign = auth.plugins.filter(
      (p) => p !== 'mysql_native_password' && !(server.flavor === 'mysql' && p === 'caching_sha2_password'),
    );
    if (foreign.length) {
      problems.push({
        what: `${user}@${host} authenticates with ${[...new Set(foreign)].join(', ')}; rotor changes passwords of mysql_native_password${server.flavor === 'mysql' ? ' or caching_sha2_password' : ''} accounts`,
        fix: `ALTER USER ${acct} IDENTIFIED VIA mysql_native_password USING PASSWORD('...');`,
      });
    } else if (server.flavor === 'mysql' && tls === 'disable' && auth.plugins.includes('caching_sha2_password')) {
      problems.push({
        what: `${user}@${host} uses caching_sha2_password, whose new password only a cleartext statement sets, and the admin connection is not encrypted (tls: disable)`,
        fix: '-- set tls: require (or verify-full) on the target, with TLS enabled on the server',
      });
    }
  }
  if (params.strategy === 'alternating-users') problems.push(...(await driftProblems(c, server, params)));
  return problems;
}

/** Both users must hold the role (as their default) and nothing else: what one has and the other lacks is named. */
async function driftProblems(c: Connection, server: Server, params: AlternatingParams): Promise<Problem[]> {
  const { role, users, accountHost: host } = params.target;
  const problems: Problem[] = [];
  if (!(await roleExists(c, server, role))) {
    return [{ what: `role ${role} does not exist`, fix: `CREATE ROLE ${quote(role)}; GRANT ... ON app.* TO ${quote(role)};` }];
  }
  const extras = new Map<string, string[]>();
  const usage = new Map<string, string>();
  for (const user of users) {
    const acct = account(user, host);
    if (!(await readAuth(c, server, user, host))) continue;
    const lines = (await readGrants(c, acct)).map((l) => normalize(l, user, host));
    const roleGrant = new RegExp(`^GRANT \`${role}\`(@\`%\`)? TO <user>$`);
    if (!lines.some((l) => roleGrant.test(l)))
      problems.push({ what: `${user}@${host} does not hold role ${role}`, fix: `GRANT ${quote(role)} TO ${acct};` });
    if ((await readDefaultRole(c, server, user, host)) !== role) {
      problems.push({ what: `${user}@${host} does not have ${role} as its default role`, fix: `${setDefaultRole(server, role, acct)};` });
    }
    usage.set(user, lines.find((l) => l.startsWith(USAGE)) ?? USAGE);
    extras.set(
      user,
      lines.filter((l) => !l.startsWith(USAGE) && !roleGrant.test(l) && !/^SET DEFAULT ROLE /.test(l)),
    );
  }
  const [a, b] = users;
  // Account options (REQUIRE, resource limits) live on the USAGE line: they must be the same.
  const [ua, ub] = [usage.get(a), usage.get(b)];
  if (ua !== undefined && ub !== undefined && ua !== ub) {
    const options = (l: string) => l.slice(USAGE.length).trim() || '(none)';
    problems.push({
      what: `grant drift: ${a}@${host} has account options ${options(ua)} and ${b}@${host} has ${options(ub)}; the two users must have the same`,
      fix: `ALTER USER ${account(b, host)} ${options(ua) === '(none)' ? 'REQUIRE NONE WITH MAX_QUERIES_PER_HOUR 0 MAX_UPDATES_PER_HOUR 0 MAX_CONNECTIONS_PER_HOUR 0 MAX_USER_CONNECTIONS 0' : options(ua)};`,
    });
  }
  const ea = extras.get(a) ?? [];
  const eb = extras.get(b) ?? [];
  for (const [user, mine, theirs, other] of [
    [a, ea, eb, b],
    [b, eb, ea, a],
  ] as const) {
    for (const line of mine) {
      const stated = line.replace(/<user>/g, `${user}@${host}`);
      problems.push({
        what: theirs.includes(line)
          ? `${user}@${host} holds privileges of its own (both users do): ${stated}; they must come from role ${role} alone`
          : `grant drift: ${user}@${host} holds ${stated}, and ${other}@${host} does not; the users' privileges must come from role ${role} alone`,
        fix: moveToRole(line, role, account(user, host)),
      });
    }
  }
  return problems;
}

const USAGE = 'GRANT USAGE ON *.* TO <user>';

/**
 * SHOW GRANTS text with the account itself written as `<user>` and its authentication (MariaDB
 * prints the hashes on the USAGE line) left out, so two users' lines compare and no hash is repeated.
 */
function normalize(line: string, user: string, host: string): string {
  return line
    .split(`\`${user}\`@\`${host}\``)
    .join('<user>')
    .split(`'${user}'@'${host}'`)
    .join('<user>')
    .replace(/ IDENTIFIED (BY PASSWORD|VIA|WITH) .*?(?= REQUIRE | WITH |$)/, '');
}

function moveToRole(line: string, role: string, acct: string): string {
  const m = /^GRANT (.+) ON (.+) TO <user>( WITH GRANT OPTION)?$/.exec(line);
  if (m) return `GRANT ${m[1]} ON ${m[2]} TO ${role}; REVOKE ${m[1]} ON ${m[2]} FROM ${acct};`;
  const r = /^GRANT (.+) TO <user>/.exec(line);
  return r
    ? `GRANT ${r[1]} TO ${role}; REVOKE ${r[1]} FROM ${acct};`
    : `-- revoke from ${acct} what it holds directly, and grant it to ${role}`;
}

/** The PermanentError a run ends with: every problem, then every fix, in one message. */
export function refusal(secretId: string, params: MysqlParams, problems: readonly Problem[]): PermanentError {
  return new PermanentError(
    `${secretId}: the MySQL/MariaDB target is not set up for ${params.strategy}:\n${problems.map((p) => `  - ${p.what}`).join('\n')}`,
    { hint: `as an account with CREATE USER and GRANT OPTION, run:\n${problems.map((p) => `  ${p.fix}`).join('\n')}\nthen rotate again` },
  );
}

/**
 * provision: true. Creates the role and the users when missing (a new user's password is unknown
 * to anyone until the first rotation), grants the policy's privileges, and makes the role the
 * users' default. Every statement is idempotent, and logged (they carry no secret).
 */
export async function provision(c: Connection, server: Server, params: MysqlParams, log: Logger): Promise<void> {
  const host = params.target.accountHost;
  const run = async (sql: string) => {
    await c.query(sql);
    log.info({ statement: sql.replace(/USING '[^']*'/g, "USING '<unusable hash>'") }, 'provision');
  };
  const grantsTo = async (to: string) => {
    for (const g of params.target.grants) await run(grant(g.privileges, g.on, to));
  };
  if (params.strategy === 'alternating-users') {
    const { role, users } = params.target;
    await run(`CREATE ROLE IF NOT EXISTS ${quote(role)}`);
    await grantsTo(quote(role));
    for (const user of users) {
      const acct = account(user, host);
      if (!(await readAuth(c, server, user, host))) await run(createUser(server, acct));
      await run(`GRANT ${quote(role)} TO ${acct}`);
      await run(setDefaultRole(server, role, acct));
    }
    return;
  }
  const acct = account(params.target.user, host);
  if (!(await readAuth(c, server, params.target.user, host))) await run(createUser(server, acct));
  await grantsTo(acct);
}
