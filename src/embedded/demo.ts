// The embedded demo: a database and the roles the example policies in policies/demo/demo.yaml name,
// so `npm start` on a fresh machine has something real to rotate.
import pg from 'pg';
import type { Logger } from '../log.js';
import type { ResolvedSecret } from '../policy/types.js';
import type { EmbeddedServer } from './postgres.js';

export const DEMO_DATABASE = 'rotor_demo';
/** The variable policies/demo/demo.yaml names as the demo secrets' admin (`admin: env:...`). */
export const DEMO_ADMIN_URL_ENV = 'ROTOR_DEMO_ADMIN_URL';

/** True when a loaded secret refers to `env:<name>` anywhere: only then does the demo need setting up. */
export function namesDemo(secrets: readonly ResolvedSecret[], name: string): boolean {
  const ref = JSON.stringify(`env:${name}`);
  return secrets.some((s) => JSON.stringify(s).includes(ref));
}

const DEMO_SQL = `
do $$ begin
  if not exists (select 1 from pg_roles where rolname = 'demo_app') then create role demo_app nologin; end if;
  if not exists (select 1 from pg_roles where rolname = 'demo_app_a') then create role demo_app_a login in role demo_app; end if;
  if not exists (select 1 from pg_roles where rolname = 'demo_app_b') then create role demo_app_b login in role demo_app; end if;
  if not exists (select 1 from pg_roles where rolname = 'demo_reports') then create role demo_reports login; end if;
end $$;
create table if not exists orders (id serial primary key, placed_at timestamptz not null default now());
alter table orders owner to demo_app;
grant select on orders to demo_reports;
`;

/** Creates the demo database and roles (idempotent); returns the admin URL the demo policies reference. */
export async function setUpDemo(server: EmbeddedServer, log: Logger): Promise<string> {
  const admin = new pg.Client({ connectionString: server.url('postgres') });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [DEMO_DATABASE]);
    if (!exists.rowCount) await admin.query(`create database ${DEMO_DATABASE}`);
  } finally {
    await admin.end();
  }
  const demo = new pg.Client({ connectionString: server.url(DEMO_DATABASE) });
  await demo.connect();
  try {
    await demo.query(DEMO_SQL);
  } finally {
    await demo.end();
  }
  log.info({ database: DEMO_DATABASE }, 'demo database and roles ready');
  return server.url(DEMO_DATABASE);
}
