// Creates the roles a postgres secret needs, for the embedded demo and tests. Idempotent: what
// exists is kept, what is missing is added. The roles get no password; the first rotation sets one.
import pg from 'pg';
import type { Queryable } from './catalog.js';

export interface AlternatingRolesSpec {
  /** The NOLOGIN role that holds the grants. */
  group: string;
  users: readonly [string, string];
  /** The database the users connect to: the group gets CONNECT on it. */
  database: string;
}

export interface SingleUserSpec {
  user: string;
  database: string;
}

const q = pg.escapeIdentifier;

/** A group role (NOLOGIN) and two login users that are members of it and inherit its privileges. */
export async function ensureAlternatingRoles(admin: Queryable, spec: AlternatingRolesSpec): Promise<void> {
  const { group, users, database } = spec;
  await createRoleIfMissing(admin, group, `CREATE ROLE ${q(group)} NOLOGIN`);
  for (const user of users) {
    await createRoleIfMissing(admin, user, `CREATE ROLE ${q(user)} LOGIN INHERIT`);
    const member = await admin.query(
      `select 1 from pg_auth_members m
         join pg_roles u on u.oid = m.member join pg_roles g on g.oid = m.roleid
        where u.rolname = $1 and g.rolname = $2`,
      [user, group],
    );
    if (!member.rowCount) await admin.query(`GRANT ${q(group)} TO ${q(user)}`);
  }
  // PUBLIC usually has CONNECT already; servers that revoked it need it granted to the group.
  await admin.query(`GRANT CONNECT ON DATABASE ${q(database)} TO ${q(group)}`);
}

/** One login role with CONNECT on the database. */
export async function ensureSingleUser(admin: Queryable, spec: SingleUserSpec): Promise<void> {
  await createRoleIfMissing(admin, spec.user, `CREATE ROLE ${q(spec.user)} LOGIN`);
  await admin.query(`GRANT CONNECT ON DATABASE ${q(spec.database)} TO ${q(spec.user)}`);
}

async function createRoleIfMissing(admin: Queryable, name: string, create: string): Promise<void> {
  const exists = await admin.query('select 1 from pg_roles where rolname = $1', [name]);
  if (exists.rowCount) return;
  try {
    await admin.query(create);
  } catch (err) {
    // Someone else created it between our check and our CREATE (duplicate_object, or the
    // unique index of pg_authid when both inserts race): fine.
    const code = (err as { code?: unknown }).code;
    if (code !== '42710' && code !== '23505') throw err;
  }
}
