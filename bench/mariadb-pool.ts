// The demo consumer app's pool for the MariaDB variant of the zero-downtime bench: every statement
// is a fresh mysql2 login with the credential of one stored version (the bench's maxUses 1), and a
// refusal carries its SQLSTATE (28000 for error 1045), so the app counts it as an auth failure.
import mysql from 'mysql2/promise';
import { DatabaseError, type LoadedPool, type PoolSettings } from '../examples/consumer-app/db.js';
import type { Logger } from '../src/log.js';
import { scrub, trackSecret } from '../src/redact.js';
import type { StoredVersion } from '../src/store/contract.js';

export async function openMariadbPool(version: StoredVersion, _settings: PoolSettings, _log: Logger): Promise<LoadedPool> {
  trackSecret(version.value);
  const v = version.value;
  const options = {
    host: String(v.host),
    port: Number(v.port),
    user: String(v.username),
    password: String(v.password),
    connectTimeout: 5_000,
  };
  let running = 0;
  const once = async () => {
    running++;
    try {
      const c = await mysql.createConnection(options);
      try {
        return await c.query('SELECT 1');
      } finally {
        await c.end().catch(() => c.destroy());
      }
    } catch (err) {
      const e = err as { sqlState?: string; errno?: number; message?: string };
      throw new DatabaseError(
        `MariaDB refused version ${version.versionId} (user ${options.user}): ${scrub(String(e.message))}`,
        e.sqlState,
      );
    } finally {
      running--;
    }
  };
  await once(); // like the PostgreSQL pool: a version that does not log in is never switched to
  return {
    versionId: version.versionId,
    username: options.user,
    query: once,
    async drain() {
      while (running > 0) await new Promise((r) => setTimeout(r, 10));
    },
  };
}
