// The target checks run before every rotation: the admin may change the passwords, the roles exist
// and can log in, and (alternating users) both users get every privilege from the group alone.
import pg from 'pg';
import { PermanentError } from '../../src/errors.js';
import {
  readAdmin,
  readHoldings,
  readMemberships,
  readRoles,
  readSettings,
  readTableGrants,
  type AdminRow,
  type Queryable,
  type RoleRow,
} from './catalog.js';
import { attributeDrift, settingDrift } from './drift.js';
import { loginRoles, type AlternatingParams, type PostgresParams } from './schema.js';

/** One thing wrong with the target, and the SQL that fixes it. */
export interface Problem {
  what: string;
  fix: string;
}

const q = pg.escapeIdentifier;

/** `terminate`: the secret's drain mode ends the old user's sessions, so the admin must be allowed to. */
export async function findProblems(c: Queryable, params: PostgresParams, opts: { terminate?: boolean } = {}): Promise<Problem[]> {
  const admin = await readAdmin(c);
  const problems: Problem[] = [];
  if (!admin.rolsuper && !admin.rolcreaterole) {
    problems.push({
      what: `the admin role ${admin.rolname} has neither CREATEROLE nor SUPERUSER, so it cannot change passwords`,
      fix: `ALTER ROLE ${q(admin.rolname)} CREATEROLE;`,
    });
  }
  const users = loginRoles(params);
  const group = params.strategy === 'alternating-users' ? params.target.group : undefined;
  const roles = await readRoles(c, group ? [...users, group] : users);
  for (const user of users) problems.push(...loginRoleProblems(user, roles.get(user), admin, group));
  if (params.strategy === 'alternating-users') {
    problems.push(...(await alternatingProblems(c, params, roles, admin.version)));
    if (opts.terminate && !admin.rolsuper) problems.push(...(await signalProblems(c, admin, params.target.users)));
  }
  return problems;
}

/**
 * PostgreSQL lets a role end another role's sessions when it is a superuser, has the privileges of
 * pg_signal_backend, or has the privileges of that role. Found out at drain time, after promote,
 * this would cost a rollback; found here, it costs nothing.
 */
async function signalProblems(c: Queryable, admin: AdminRow, users: readonly string[]): Promise<Problem[]> {
  const { rows } = await c.query<{ rolname: string; allowed: boolean }>(
    `select r.rolname, pg_has_role(current_user, 'pg_signal_backend', 'USAGE') or pg_has_role(current_user, r.oid, 'USAGE') as allowed
       from pg_roles r where r.rolname = any($1::text[])`,
    [users],
  );
  const denied = rows.filter((r) => !r.allowed).map((r) => r.rolname);
  if (!denied.length) return [];
  return [
    {
      what: `the drain mode is terminate, and the admin role ${admin.rolname} may not end the sessions of ${denied.join(' or ')} (it is not a superuser and lacks pg_signal_backend)`,
      fix: `GRANT pg_signal_backend TO ${q(admin.rolname)};`,
    },
  ];
}

/** The PermanentError a run ends with: every problem, then every fix, in one message. */
export function refusal(secretId: string, params: PostgresParams, problems: readonly Problem[]): PermanentError {
  const db = params.target.database;
  return new PermanentError(
    `${secretId}: the PostgreSQL target (database ${db}) is not set up for ${params.strategy}:\n` +
      problems.map((p) => `  - ${p.what}`).join('\n'),
    {
      hint:
        `as a superuser (or a role with CREATEROLE) connected to database ${db}, run:\n` +
        problems.map((p) => `  ${p.fix}`).join('\n') +
        '\nthen rotate again',
    },
  );
}

function loginRoleProblems(user: string, role: RoleRow | undefined, admin: AdminRow, group: string | undefined): Problem[] {
  if (!role) {
    return [{ what: `role ${user} does not exist`, fix: `CREATE ROLE ${q(user)} LOGIN${group ? ` IN ROLE ${q(group)}` : ''};` }];
  }
  const problems: Problem[] = [];
  if (!role.rolcanlogin) problems.push({ what: `role ${user} cannot log in (NOLOGIN)`, fix: `ALTER ROLE ${q(user)} LOGIN;` });
  if (role.rolsuper && !admin.rolsuper) {
    problems.push({
      what: `role ${user} is a superuser, and only a superuser may change its password (rotor's admin ${admin.rolname} is not)`,
      fix: `ALTER ROLE ${q(user)} NOSUPERUSER;`,
    });
  } else if (admin.rolcreaterole && !admin.rolsuper && admin.version >= 160000 && !role.admin_option) {
    problems.push({
      what: `the admin role ${admin.rolname} has no ADMIN OPTION on ${user}, which PostgreSQL 16 and later require to change its password`,
      fix: `GRANT ${q(user)} TO ${q(admin.rolname)} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;`,
    });
  }
  return problems;
}

async function alternatingProblems(
  c: Queryable,
  params: AlternatingParams,
  roles: ReadonlyMap<string, RoleRow>,
  version: number,
): Promise<Problem[]> {
  const { group, users } = params.target;
  const problems: Problem[] = [];
  const groupRow = roles.get(group);
  if (!groupRow) problems.push({ what: `group role ${group} does not exist`, fix: `CREATE ROLE ${q(group)} NOLOGIN;` });
  else if (groupRow.rolcanlogin) {
    problems.push({
      what: `group role ${group} can log in; it must be NOLOGIN so that no one uses it directly`,
      fix: `ALTER ROLE ${q(group)} NOLOGIN;`,
    });
  }
  const existing = users.filter((u) => roles.has(u));
  if (!existing.length) return problems;

  const memberships = await readMemberships(c, existing, version);
  for (const user of existing) {
    const own = memberships.filter((m) => m.member === user);
    const inGroup = own.find((m) => m.role === group);
    if (!inGroup) problems.push({ what: `${user} is not a member of ${group}`, fix: `GRANT ${q(group)} TO ${q(user)};` });
    else if (!inGroup.inherits) {
      problems.push({
        what: `${user} is a member of ${group} but does not inherit its privileges`,
        fix: version >= 160000 ? `GRANT ${q(group)} TO ${q(user)} WITH INHERIT TRUE;` : `ALTER ROLE ${q(user)} INHERIT;`,
      });
    }
    for (const other of own.filter((m) => m.role !== group)) {
      problems.push({
        what: `${user} is also a member of ${other.role}; its privileges must come from ${group} alone`,
        fix: `GRANT ${q(other.role)} TO ${q(group)}; REVOKE ${q(other.role)} FROM ${q(user)};`,
      });
    }
  }
  problems.push(...(await holdingProblems(c, existing, group)));
  const [a, b] = users;
  const rowA = roles.get(a);
  const rowB = roles.get(b);
  if (rowA && rowB)
    problems.push(...attributeDrift(rowA, rowB), ...settingDrift(await readSettings(c, users), a, b, params.target.database));
  return problems;
}

/** Ownership and direct grants: each would let the two users' privileges drift apart. */
async function holdingProblems(c: Queryable, users: readonly string[], group: string): Promise<Problem[]> {
  // One connection runs one query at a time: no Promise.all here.
  const holdings = await readHoldings(c, users);
  const tableGrants = await readTableGrants(c, users);
  const problems: Problem[] = [];
  for (const user of users) {
    const mine = holdings.filter((h) => h.rolname === user);
    const list = (kind: string) => mine.filter((h) => h.deptype === kind).map((h) => h.object);
    const owned = list('o');
    if (owned.length) {
      problems.push({
        what: `${user} owns ${owned.join(', ')}; objects must be owned by ${group}`,
        fix: `REASSIGN OWNED BY ${q(user)} TO ${q(group)};`,
      });
    }
    const granted = list('a');
    if (granted.length) {
      const grants = tableGrants.filter((g) => g.rolname === user);
      const fixes = grants.map(
        (g) => `GRANT ${g.privileges} ON ${g.kind} ${g.relation} TO ${q(group)}; REVOKE ALL ON ${g.kind} ${g.relation} FROM ${q(user)};`,
      );
      if (granted.length > grants.length)
        fixes.push(`-- and for the other objects listed: GRANT to ${q(group)} what ${q(user)} holds, then REVOKE it from ${q(user)}`);
      problems.push({
        what: `${user} was granted privileges directly on ${granted.join(', ')}; grant them to ${group} instead`,
        fix: fixes.join('\n  '),
      });
    }
    const policies = list('r');
    if (policies.length) {
      problems.push({
        what: `${user} is named in ${policies.join(', ')}; name ${group} instead`,
        fix: `-- ALTER POLICY <policy> ON <table> TO ${q(group)};  (for each policy listed)`,
      });
    }
  }
  return problems;
}
