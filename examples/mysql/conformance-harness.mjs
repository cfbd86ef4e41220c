// A conformance harness for the mysql rotator against any MySQL ≥ 8.0.14 or MariaDB ≥ 10.4 server:
//   ROTOR_MYSQL_ADMIN_URL=mysql://root:pw@db:3306/ ROTOR_MYSQL_STRATEGY=dual-password \
//     npx rotor conformance mysql --harness examples/mysql/conformance-harness.mjs
// It provisions accounts of its own (rotor_conf_*; no privileges), and drops them when done.
// ROTOR_MYSQL_TLS (disable, require, verify-full) sets the rotator's tls parameter.
/* global process, URL */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export default async function harness() {
  const url = process.env.ROTOR_MYSQL_ADMIN_URL;
  if (!url) throw new Error('set ROTOR_MYSQL_ADMIN_URL to a mysql://user:password@host:port/ URL of an account with CREATE USER');
  const strategy = process.env.ROTOR_MYSQL_STRATEGY ?? 'dual-password';
  const tls = process.env.ROTOR_MYSQL_TLS;
  const suffix = randomBytes(4).toString('hex');
  const accounts =
    strategy === 'alternating-users'
      ? { users: [`rotor_conf_${suffix}_a`, `rotor_conf_${suffix}_b`], role: `rotor_conf_${suffix}_r` }
      : { user: `rotor_conf_${suffix}` };
  const server = new URL(url);
  const ssl = tls && tls !== 'disable' ? { rejectUnauthorized: tls === 'verify-full' } : undefined;
  const connectAs = (user, password) =>
    mysql.createConnection({ host: server.hostname, port: Number(server.port || 3306), user, password, ssl });
  return {
    params: { strategy, target: { admin: 'env:ROTOR_MYSQL_ADMIN_URL', provision: true, ...(tls ? { tls } : {}), ...accounts } },
    resolveRef: async (ref) => {
      if (ref === 'env:ROTOR_MYSQL_ADMIN_URL') return url;
      throw new Error(`unexpected reference ${ref}`);
    },
    async openSession(value) {
      const c = await connectAs(String(value.username), String(value.password));
      c.on('error', () => undefined);
      return { close: () => c.end().catch(() => c.destroy()) };
    },
    // A password set by hand on each account, as before rotor: the first rotation must revoke it.
    async inherited() {
      const c = await connectAs(decodeURIComponent(server.username), decodeURIComponent(server.password));
      try {
        const out = [];
        for (const u of accounts.users ?? [accounts.user]) {
          const password = `by-hand-${randomBytes(12).toString('hex')}`;
          await c.query('ALTER USER ?@? IDENTIFIED BY ?', [u, '%', password]);
          out.push({ engine: 'mysql', host: server.hostname, port: Number(server.port || 3306), username: u, password });
        }
        return out;
      } finally {
        await c.end();
      }
    },
    async close() {
      const c = await connectAs(decodeURIComponent(server.username), decodeURIComponent(server.password));
      try {
        for (const u of accounts.users ?? [accounts.user]) await c.query('DROP USER IF EXISTS ?@?', [u, '%']);
        if (accounts.role) await c.query(`DROP ROLE IF EXISTS ${mysql.escape(accounts.role)}`);
      } finally {
        await c.end();
      }
    },
  };
}
