// Logging in to MySQL/MariaDB the way an application would: 'ok', or the server's error number.
import mysql from 'mysql2/promise';
import type { SecretValue } from '../../src/rotator/contract.js';

export async function mysqlLogin(server: { host: string; port: number }, v: SecretValue): Promise<'ok' | number | string> {
  try {
    const c = await mysql.createConnection({
      host: server.host,
      port: server.port,
      user: String(v.username),
      password: String(v.password),
      connectTimeout: 5_000,
    });
    await c.query('SELECT 1');
    await c.end();
    return 'ok';
  } catch (err) {
    return (err as { errno?: number }).errno ?? (err as Error).message;
  }
}

/** An open session as `v` (a consumer's connection pool, reduced to one). */
export async function mysqlSession(server: { host: string; port: number }, v: SecretValue): Promise<{ close(): Promise<void> }> {
  const c = await mysql.createConnection({ host: server.host, port: server.port, user: String(v.username), password: String(v.password) });
  c.on('error', () => undefined);
  return { close: () => c.end().catch(() => c.destroy()) };
}
