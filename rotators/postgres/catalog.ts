// Catalog reads the preflight checks are made of: roles, memberships, and what a role holds itself.
import type pg from 'pg';

export type Queryable = Pick<pg.ClientBase, 'query'>;

export interface AdminRow {
  rolname: string;
  rolsuper: boolean;
  rolcreaterole: boolean;
  /** server_version_num, e.g. 160002 */
  version: number;
}

export interface RoleRow {
  oid: string;
  rolname: string;
  rolcanlogin: boolean;
  rolsuper: boolean;
  rolinherit: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  rolconnlimit: number;
  /** Whether the admin may change this role (superuser, or ADMIN OPTION on it). */
  admin_option: boolean;
}

export interface MembershipRow {
  member: string;
  role: string;
  /** Whether the member uses the role's privileges without SET ROLE. */
  inherits: boolean;
}

export interface HoldingRow {
  rolname: string;
  /** pg_describe_object's text, e.g. `table public.orders` */
  object: string;
  /** o: owns it; a: named in its ACL; r: named in a policy */
  deptype: 'o' | 'a' | 'r';
}

export interface TableGrantRow {
  rolname: string;
  /** Qualified as needed by regclass, e.g. `public.orders` or `orders` */
  relation: string;
  /** TABLE or SEQUENCE: what GRANT calls it (GRANT USAGE ON TABLE fails for a sequence). */
  kind: 'TABLE' | 'SEQUENCE';
  privileges: string;
}

export interface SettingRow {
  rolname: string;
  /** True when the setting applies in every database, false when only in the target database. */
  everywhere: boolean;
  setting: string;
}

export async function readAdmin(c: Queryable): Promise<AdminRow> {
  const { rows } = await c.query<AdminRow>(
    `select rolname, rolsuper, rolcreaterole, current_setting('server_version_num')::int as version
       from pg_roles where rolname = current_user`,
  );
  const row = rows[0];
  if (!row) throw new Error('the admin role is not in pg_roles');
  return row;
}

export async function readRoles(c: Queryable, names: readonly string[]): Promise<Map<string, RoleRow>> {
  const { rows } = await c.query<RoleRow>(
    `select r.oid, r.rolname, r.rolcanlogin, r.rolsuper, r.rolinherit, r.rolcreatedb, r.rolcreaterole,
            r.rolreplication, r.rolbypassrls, r.rolconnlimit,
            pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION') as admin_option
       from pg_roles r where r.rolname = any($1::text[])`,
    [names],
  );
  return new Map(rows.map((r) => [r.rolname, r]));
}

/** Direct memberships of `members`. PostgreSQL 16 made inheritance a property of each grant. */
export async function readMemberships(c: Queryable, members: readonly string[], version: number): Promise<MembershipRow[]> {
  const inherits = version >= 160000 ? 'm.inherit_option' : 'u.rolinherit';
  const { rows } = await c.query<MembershipRow>(
    `select u.rolname as member, g.rolname as role, ${inherits} as inherits
       from pg_auth_members m
       join pg_roles u on u.oid = m.member
       join pg_roles g on g.oid = m.roleid
      where u.rolname = any($1::text[])
      order by 1, 2`,
    [members],
  );
  return rows;
}

/**
 * Objects in the current database (or shared ones) that the roles own, or on which they were
 * granted something directly, or that name them in a row-level security policy.
 */
export async function readHoldings(c: Queryable, roles: readonly string[]): Promise<HoldingRow[]> {
  const { rows } = await c.query<HoldingRow>(
    `select r.rolname, pg_describe_object(d.classid, d.objid, d.objsubid) as object, d.deptype
       from pg_shdepend d
       join pg_roles r on r.oid = d.refobjid
      where d.refclassid = 'pg_authid'::regclass
        and r.rolname = any($1::text[])
        and d.deptype in ('o', 'a', 'r')
        and d.dbid in (0, (select oid from pg_database where datname = current_database()))
      order by 1, 2`,
    [roles],
  );
  return rows;
}

/** Table-level privileges granted to the roles themselves, for GRANT statements that move them. */
export async function readTableGrants(c: Queryable, roles: readonly string[]): Promise<TableGrantRow[]> {
  const { rows } = await c.query<TableGrantRow>(
    `select r.rolname, c.oid::regclass::text as relation,
            case c.relkind when 'S' then 'SEQUENCE' else 'TABLE' end as kind,
            string_agg(a.privilege_type, ', ' order by a.privilege_type) as privileges
       from pg_class c
      cross join lateral aclexplode(c.relacl) a
       join pg_roles r on r.oid = a.grantee
      where r.rolname = any($1::text[])
      group by 1, 2, 3
      order by 1, 2`,
    [roles],
  );
  return rows;
}

/** ALTER ROLE ... SET values that apply to the roles in the current database. */
export async function readSettings(c: Queryable, roles: readonly string[]): Promise<SettingRow[]> {
  const { rows } = await c.query<SettingRow>(
    `select r.rolname, s.setdatabase = 0 as everywhere, unnest(s.setconfig) as setting
       from pg_db_role_setting s
       join pg_roles r on r.oid = s.setrole
      where r.rolname = any($1::text[])
        and s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
      order by 1, 2, 3`,
    [roles],
  );
  return rows;
}
