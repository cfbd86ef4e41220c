// Reads of the server's accounts: version, authentication (MariaDB's chain, MySQL's plugin), grants,
// default roles and sessions. Needs SELECT on the mysql schema and PROCESS.
import type { RowDataPacket } from 'mysql2/promise';
import type { Connection } from './connection.js';
import { NATIVE_HASH, parseServer, type Server } from './sql.js';

export async function readServer(c: Connection): Promise<Server> {
  const [rows] = await c.query<RowDataPacket[]>('SELECT VERSION() AS v');
  return parseServer(String(rows[0]?.v ?? ''));
}

export interface AccountAuth {
  /** The plugin of each password in the chain (MySQL: one, for the primary and any secondary). */
  plugins: string[];
  /** The mysql_native_password hashes among them (upper-case). */
  hashes: string[];
}

interface AuthEntry {
  plugin?: string;
  authentication_string?: string;
}

/** How the account authenticates, or null when there is no such account. */
export async function readAuth(c: Connection, server: Server, user: string, host: string): Promise<AccountAuth | null> {
  if (server.flavor === 'mariadb') {
    const [rows] = await c.query<RowDataPacket[]>('SELECT Priv AS p FROM mysql.global_priv WHERE User = ? AND Host = ?', [user, host]);
    if (!rows[0]) return null;
    // mysql2 parses the column when the server declares it JSON, and hands back text otherwise.
    const raw: unknown = rows[0].p;
    const priv = (typeof raw === 'string' ? JSON.parse(raw) : raw) as AuthEntry & { auth_or?: AuthEntry[] };
    // auth_or lists the chain; its `{}` entry stands for the top-level plugin and string.
    const chain = priv.auth_or?.length ? priv.auth_or.map((e) => (e.plugin ? e : priv)) : [priv];
    return summarize(chain);
  }
  const [rows] = await c.query<RowDataPacket[]>('SELECT plugin, authentication_string FROM mysql.user WHERE User = ? AND Host = ?', [
    user,
    host,
  ]);
  return rows[0] ? summarize([rows[0] as AuthEntry]) : null;
}

function summarize(chain: readonly AuthEntry[]): AccountAuth {
  const plugins = chain.map((e) => e.plugin ?? 'mysql_native_password');
  const hashes = chain
    .filter((e) => (e.plugin ?? 'mysql_native_password') === 'mysql_native_password')
    .map((e) => String(e.authentication_string ?? '').toUpperCase())
    .filter((h) => NATIVE_HASH.test(h));
  return { plugins, hashes };
}

/** SHOW GRANTS FOR the account, one statement per line. */
export async function readGrants(c: Connection, acct: string): Promise<string[]> {
  const [rows] = await c.query<RowDataPacket[]>(`SHOW GRANTS FOR ${acct}`);
  return rows.map((r) => String(Object.values(r)[0]));
}

/** The account's default role, or null. */
export async function readDefaultRole(c: Connection, server: Server, user: string, host: string): Promise<string | null> {
  const [rows] =
    server.flavor === 'mariadb'
      ? await c.query<RowDataPacket[]>('SELECT default_role AS r FROM mysql.user WHERE User = ? AND Host = ?', [user, host])
      : await c.query<RowDataPacket[]>('SELECT DEFAULT_ROLE_USER AS r FROM mysql.default_roles WHERE USER = ? AND HOST = ?', [user, host]);
  const role = rows[0]?.r;
  return typeof role === 'string' && role ? role : null;
}

export async function roleExists(c: Connection, server: Server, role: string): Promise<boolean> {
  const [rows] =
    server.flavor === 'mariadb'
      ? await c.query<RowDataPacket[]>("SELECT 1 FROM mysql.user WHERE User = ? AND is_role = 'Y'", [role])
      : await c.query<RowDataPacket[]>("SELECT 1 FROM mysql.user WHERE User = ? AND Host = '%'", [role]);
  return rows.length > 0;
}

/** Ids of the sessions logged in as `user` (any client host), except the caller's own. */
export async function sessionIds(c: Connection, user: string): Promise<number[]> {
  const [rows] = await c.query<RowDataPacket[]>(
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()',
    [user],
  );
  return rows.map((r) => Number(r.id));
}

/** Ends the sessions of `user`, waits until they are gone; returns how many were ended. */
export async function killSessions(c: Connection, user: string, waitMs = 5_000): Promise<number> {
  const ids = await sessionIds(c, user);
  let ended = 0;
  for (const id of ids) {
    try {
      await c.query(`KILL CONNECTION ${Number(id)}`);
      ended++;
    } catch (err) {
      if ((err as { errno?: number }).errno !== 1094) throw err; // 1094: it ended by itself meanwhile
    }
  }
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && (await sessionIds(c, user)).some((id) => ids.includes(id))) await new Promise((r) => setTimeout(r, 25));
  return ended;
}
