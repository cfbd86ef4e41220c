// Looking for secret values where they must never be (invariant 4): every key of the queue's Redis,
// the processes' logs, the state database's tables (the encrypted store aside), the servers' logs.
// Thousands of values against megabytes of text: each text is cut into windows of every value
// length and each window looked up in a set, instead of one substring search per value.
import { open } from 'node:fs/promises';
import pg from 'pg';
import { redisKeysWithContent } from '../test/helpers/leak-scan.js';

export class ValueSet {
  private readonly byLength = new Map<number, Set<string>>();
  private count = 0;

  add(value: unknown): void {
    if (typeof value === 'string') {
      // Short strings (ports, "postgres") would match everywhere and are not secrets.
      if (value.length < 12) return;
      let set = this.byLength.get(value.length);
      if (!set) this.byLength.set(value.length, (set = new Set()));
      if (!set.has(value)) this.count++;
      set.add(value);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) if (/password|secret|key|token|value/i.test(k)) this.add(v);
    }
  }

  get size(): number {
    return this.count;
  }

  /** True when any value occurs in `text`. */
  foundIn(text: string): boolean {
    for (const [length, set] of this.byLength) {
      for (let i = 0; i + length <= text.length; i++) if (set.has(text.slice(i, i + length))) return true;
    }
    return false;
  }
}

/** Keys whose name or content holds a value. */
export async function leaksInRedis(url: string, values: ValueSet): Promise<{ keys: number; found: string[] }> {
  const found: string[] = [];
  let keys = 0;
  for await (const { key, content } of redisKeysWithContent(url)) {
    keys++;
    if (values.foundIn(key) || values.foundIn(content)) found.push(key);
  }
  return { keys, found };
}

/** Tables holding a value, in every schema of the database; store_versions is ciphertext by design. */
export async function leaksInTables(db: Pick<pg.Pool, 'query'>, values: ValueSet): Promise<{ rows: number; found: string[] }> {
  const tables = await db.query<{ s: string; t: string }>(
    `select table_schema as s, table_name as t from information_schema.tables
     where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE' and table_name <> 'store_versions'`,
  );
  const found: string[] = [];
  let rows = 0;
  for (const { s, t } of tables.rows) {
    const r = await db.query<{ row: string }>(`select x::text as row from ${pg.escapeIdentifier(s)}.${pg.escapeIdentifier(t)} x`);
    rows += r.rows.length;
    if (r.rows.some((row) => values.foundIn(row.row))) found.push(`${s}.${t}`);
  }
  return { rows, found };
}

/** Lines of a log file that hold a value (line numbers), read in chunks. */
export async function leaksInFile(path: string, values: ValueSet): Promise<{ lines: number; found: number[] }> {
  const handle = await open(path, 'r');
  const found: number[] = [];
  let lines = 0;
  try {
    let rest = '';
    for await (const chunk of handle.createReadStream({ encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const parts = (rest + String(chunk)).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        lines++;
        if (values.foundIn(line)) found.push(lines);
      }
    }
    if (rest) {
      lines++;
      if (values.foundIn(rest)) found.push(lines);
    }
  } finally {
    await handle.close();
  }
  return { lines, found };
}
