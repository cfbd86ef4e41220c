// Invariant 4 over the whole suite: no secret value in a state table (the encrypted store aside)
// or in Redis. Test databases are scanned before they are dropped; the shared Redis at the end of
// the run, for every value any test file tracked (see leak-record.ts and global-setup.ts).
import { Redis } from 'ioredis';
import pg from 'pg';

/** Tables (schema.table) in which any of `values` appears as text; store_versions holds ciphertext by design. */
export async function findLeaksInDatabase(db: Pick<pg.Pool, 'query'>, values: readonly string[]): Promise<string[]> {
  if (!values.length) return [];
  const tables = await db.query<{ s: string; t: string }>(
    `select table_schema as s, table_name as t from information_schema.tables
     where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE' and table_name <> 'store_versions'`,
  );
  const found: string[] = [];
  for (const { s, t } of tables.rows) {
    const rows = await db.query<{ row: string }>(`select x::text as row from ${pg.escapeIdentifier(s)}.${pg.escapeIdentifier(t)} x`);
    if (rows.rows.some((r) => values.some((v) => r.row.includes(v)))) found.push(`${s}.${t}`);
  }
  return found;
}

/** Every key of the Redis at `url` with its content as text (hashes, lists, sets, zsets, streams as JSON). */
export async function* redisKeysWithContent(url: string): AsyncGenerator<{ key: string; content: string }> {
  const r = new Redis(url, { maxRetriesPerRequest: 2 });
  r.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await r.type(key);
        const content =
          type === 'string'
            ? ((await r.get(key)) ?? '')
            : type === 'hash'
              ? JSON.stringify(await r.hgetall(key))
              : type === 'list'
                ? JSON.stringify(await r.lrange(key, 0, -1))
                : type === 'set'
                  ? JSON.stringify(await r.smembers(key))
                  : type === 'zset'
                    ? JSON.stringify(await r.zrange(key, 0, -1))
                    : type === 'stream'
                      ? JSON.stringify(await r.xrange(key, '-', '+'))
                      : '';
        yield { key, content };
      }
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** Keys of the Redis at `url` whose name or content contains any of `values`. */
export async function findLeaksInRedis(url: string, values: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const { key, content } of redisKeysWithContent(url)) {
    if (values.some((v) => key.includes(v) || content.includes(v))) found.push(key);
  }
  return found;
}
