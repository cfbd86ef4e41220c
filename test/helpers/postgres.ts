// Per-test-file databases on the private PostgreSQL server.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export function privatePostgres() {
  const f = inject('postgres');
  return { ...f, url: (db = 'postgres') => `postgres://${f.user}:${f.password}@${f.host}:${f.port}/${db}` };
}

export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const server = privatePostgres();
  const name = `${label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  await admin.end();
  const url = server.url(name);
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  pool.on('error', () => undefined);
  return {
    name, host: server.host, port: server.port, user: server.user, password: server.password, url, pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const c = new pg.Client({ connectionString: server.url() });
      await c.connect();
      await c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      await c.end();
    },
  };
}
