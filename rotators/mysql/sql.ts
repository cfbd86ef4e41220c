// The account statements the rotator sends, as pure functions (unit-tested as text). MariaDB gets
// only mysql_native_password hashes; MySQL gets hashes where its syntax takes them (`AS`), and a
// cleartext only for RETAIN CURRENT PASSWORD and caching_sha2_password, over TLS (preflight checks).
import { createHash, randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

/** What the server is: the flavor decides the syntax, the version what it supports. */
export interface Server {
  flavor: 'mariadb' | 'mysql';
  /** [major, minor, patch] */
  version: [number, number, number];
  /** VERSION() as the server says it. */
  text: string;
}

/** `'*'` + upper-case hex of SHA1(SHA1(password)): what mysql_native_password keeps. */
export function nativeHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}

/** A valid hash no password is known for: what a revoked alternate user keeps (never a lock: 1045, not 4151). */
export function unusableHash(): string {
  return `*${randomBytes(20).toString('hex').toUpperCase()}`;
}

export const NATIVE_HASH = /^\*[0-9A-F]{40}$/;

/** A string literal (`'name'`): how account, role and host names are written. */
export const quote = (s: string): string => mysql.escape(s);
const lit = quote;

/** `'user'@'host'`; names are validated by the schema, and quoted here anyway. */
export function account(user: string, host: string): string {
  return `${lit(user)}@${lit(host)}`;
}

/** MariaDB: the account's whole authentication chain, one mysql_native_password hash per password. */
export function mariadbChain(acct: string, hashes: readonly string[]): string {
  if (!hashes.length) throw new Error('an authentication chain needs at least one hash');
  for (const h of hashes) if (!NATIVE_HASH.test(h)) throw new Error('not a mysql_native_password hash');
  return `ALTER USER ${acct} IDENTIFIED VIA ${hashes.map((h) => `mysql_native_password USING ${lit(h)}`).join(' OR ')}`;
}

/** MySQL: sets the primary password. A native account gets its hash; caching_sha2_password needs the cleartext (TLS). */
export function mysqlSetPassword(acct: string, plugin: string, password: string): string {
  if (plugin === 'mysql_native_password') return `ALTER USER ${acct} IDENTIFIED WITH mysql_native_password AS ${lit(nativeHash(password))}`;
  return `ALTER USER ${acct} IDENTIFIED BY ${lit(password)}`;
}

/** MySQL ≥ 8.0.14: the new password becomes primary, the current one secondary (both log in). Takes only a cleartext. */
export function mysqlRetain(acct: string, password: string): string {
  return `ALTER USER ${acct} IDENTIFIED BY ${lit(password)} RETAIN CURRENT PASSWORD`;
}

/** MySQL ≥ 8.0.14: drops the secondary password. */
export function mysqlDiscard(acct: string): string {
  return `ALTER USER ${acct} DISCARD OLD PASSWORD`;
}

/** MySQL: replaces the password with one nobody knows (the server picks it; rotor discards the reply). */
export function mysqlRandomPassword(acct: string): string {
  return `ALTER USER ${acct} IDENTIFIED BY RANDOM PASSWORD`;
}

/** Makes `role` the account's default role (so its privileges apply at login without SET ROLE). */
export function setDefaultRole(server: Server, role: string, acct: string): string {
  return server.flavor === 'mariadb' ? `SET DEFAULT ROLE ${lit(role)} FOR ${acct}` : `SET DEFAULT ROLE ${lit(role)} TO ${acct}`;
}

/** A new account whose password nobody knows yet: the first rotation sets one. */
export function createUser(server: Server, acct: string): string {
  return server.flavor === 'mariadb'
    ? `CREATE USER IF NOT EXISTS ${acct} IDENTIFIED VIA mysql_native_password USING ${lit(unusableHash())}`
    : `CREATE USER IF NOT EXISTS ${acct} IDENTIFIED BY RANDOM PASSWORD`;
}

/** `SELECT, INSERT ON app.*` granted to a role or account. */
export function grant(privileges: readonly string[], on: string, to: string): string {
  const [db, table] = on.split('.') as [string, string];
  const object = `${mysql.escapeId(db)}.${table === '*' ? '*' : mysql.escapeId(table)}`;
  return `GRANT ${privileges.join(', ')} ON ${object} TO ${to}`;
}

/** Reads `8.0.36`, `10.11.19-MariaDB-0+deb12u1`, `5.5.5-10.11.6-MariaDB` (old MariaDB handshake prefix). */
export function parseServer(text: string): Server {
  const mariadb = /mariadb/i.test(text);
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text.replace(/^5\.5\.5-/, ''));
  const version: [number, number, number] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  return { flavor: mariadb ? 'mariadb' : 'mysql', version, text };
}

export function atLeast(s: Server, major: number, minor: number, patch = 0): boolean {
  const [a, b, c] = s.version;
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
}
