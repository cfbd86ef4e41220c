// Databases for integration tests: each test file gets its own on the run's private PostgreSQL.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PreparingClient } from '../../src/state/db.js';
import { trackedSecrets } from '../../src/redact.js';
import { findLeaksInDatabase } from './leak-scan.js';
import { inject } from 'vitest';
import './provided.js';
import { waitFor } from './wait.js';

export interface TestDatabase {
  name: string;
  host: string;
  port: number;
  /** The private server's superuser (scram-sha-256). */
  user: string;
  password: string;
  /** `postgres://user:password@host:port/name` */
  url: string;
  /** A pool on this database, closed by `drop()`. */
  pool: pg.Pool;
  /** Closes the pool, terminates every session on the database and drops it. Idempotent. */
  drop(): Promise<void>;
}

export interface PrivatePostgresServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** A connection URL for `db` on the private server. @defaultValue 'postgres' */
  url(db?: string): string;
}

export function privatePostgres(): PrivatePostgresServer {
  const facts = inject('rotorTestPostgres');
  if (!facts) {
    throw new Error(
      'no private PostgreSQL: it is started by the integration project, so put this test under test/integration/ (or rotators/**/*.int.test.ts)',
    );
  }
  const auth = `${encodeURIComponent(facts.user)}:${encodeURIComponent(facts.password)}`;
  return { ...facts, url: (db = 'postgres') => `postgres://${auth}@${facts.host}:${facts.port}/${encodeURIComponent(db)}` };
}

let counter = 0;

const SESSIONS_ON = 'select count(*)::int as n from pg_stat_activity where datname = $1';

/** A fresh, empty database with a unique name (the label makes it recognisable in pg_stat_activity). */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const server = privatePostgres();
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  const name = `t_${slug}_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
  await asSuperuser(server, (c) => c.query(`create database ${pg.escapeIdentifier(name)}`));
  const url = server.url(name);
  // As rotor's own pool (createStatePool): parameterised statements prepared once per connection.
  const pool = new pg.Pool({ connectionString: url, Client: PreparingClient });
  // drop() terminates sessions; an idle client's error must not crash the test process.
  pool.on('error', () => undefined);
  let dropped: Promise<void> | undefined;
  return {
    name,
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    url,
    pool,
    drop() {
      dropped ??= (async () => {
        // Invariant 4: before the database goes, no tracked secret value may sit in any table.
        const leaks = await findLeaksInDatabase(pool, trackedSecrets()).catch(() => []);
        await pool.end().catch(() => undefined);
        await asSuperuser(server, async (c) => {
          // pool.end() resolves before the server has seen its sessions go. Forcing the drop in that
          // window would kill sessions that were closing anyway, and their clients would report it as
          // an uncaught error in whichever test file ended its pool just before.
          await waitFor(async () => (await c.query(SESSIONS_ON, [name])).rows[0]?.n === 0, { timeoutMs: 1_000 }).catch(() => undefined);
          // WITH (FORCE) ends what is left: sessions the test leaked (workers, LISTEN clients).
          await c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
        });
        if (leaks.length) throw new Error(`secret values were found in ${name}, in tables: ${leaks.join(', ')}`);
      })();
      return dropped;
    },
  };
}

async function asSuperuser(server: PrivatePostgresServer, fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: server.url() });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}
