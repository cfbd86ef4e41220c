// Where the AWS fakes keep their state: in memory for one process, or in a table of the test's
// PostgreSQL database, so a worker process killed with SIGKILL leaves it behind for the next one
// (as AWS would). Every call runs under a lock on its service's row: calls from several processes
// are applied one after the other, as a real service serializes them per resource.
import type pg from 'pg';

export interface FakeState<S> {
  /** Runs `fn` on the state, alone; its changes are kept when it returns, dropped when it throws. */
  transact<T>(fn: (state: S) => Promise<T> | T): Promise<T>;
  /** The state as it is now (a copy), for assertions. */
  snapshot(): Promise<S>;
}

export function memoryState<S>(initial: S): FakeState<S> {
  let state = structuredClone(initial);
  let chain: Promise<unknown> = Promise.resolve();
  return {
    transact<T>(fn: (s: S) => Promise<T> | T): Promise<T> {
      const result = chain.then(async () => {
        const draft = structuredClone(state);
        const out = await fn(draft);
        state = draft;
        return out;
      });
      chain = result.catch(() => undefined);
      return result;
    },
    async snapshot() {
      await chain;
      return structuredClone(state);
    },
  };
}

/** The schema the fakes' table lives in: drop it before the test database (it holds values, as AWS does). */
export const FAKE_SCHEMA = 'aws_fake';

export async function dropFakeSchema(pool: pg.Pool): Promise<void> {
  await pool.query(`drop schema if exists ${FAKE_SCHEMA} cascade`);
}

export function postgresState<S>(pool: pg.Pool, service: string, initial: S): FakeState<S> {
  let ready: Promise<void> | undefined;
  const setUp = () =>
    (ready ??= (async () => {
      await pool.query(`create schema if not exists ${FAKE_SCHEMA}`).catch(() => undefined);
      await pool
        .query(`create table if not exists ${FAKE_SCHEMA}.state (service text primary key, state jsonb not null)`)
        .catch(() => undefined);
      await pool.query(`insert into ${FAKE_SCHEMA}.state (service, state) values ($1, $2) on conflict do nothing`, [
        service,
        JSON.stringify(initial),
      ]);
    })());
  return {
    async transact<T>(fn: (s: S) => Promise<T> | T): Promise<T> {
      await setUp();
      const c = await pool.connect();
      try {
        await c.query('begin');
        const { rows } = await c.query<{ state: S }>(`select state from ${FAKE_SCHEMA}.state where service = $1 for update`, [service]);
        const draft = rows[0]!.state;
        const out = await fn(draft);
        await c.query(`update ${FAKE_SCHEMA}.state set state = $2 where service = $1`, [service, JSON.stringify(draft)]);
        await c.query('commit');
        return out;
      } catch (err) {
        await c.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },
    async snapshot() {
      await setUp();
      const { rows } = await pool.query<{ state: S }>(`select state from ${FAKE_SCHEMA}.state where service = $1`, [service]);
      return rows[0]!.state;
    },
  };
}
