// Logging in the way an application would: true when the credential works, else the SQLSTATE.
import pg from 'pg';

export async function login(
  server: { host: string; port: number; name: string },
  username: string | number | undefined,
  password: string | number | undefined,
): Promise<true | string> {
  const c = new pg.Client({
    host: server.host,
    port: server.port,
    database: server.name,
    user: String(username),
    password: String(password),
  });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  }
}
