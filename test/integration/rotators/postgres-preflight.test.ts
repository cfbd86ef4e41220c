// The postgres rotator's preflight against a real server: each broken setup is refused with a
// message that names it, and running the SQL of the hint fixes it. Also a non-superuser admin.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { RotatorContext, SecretValue } from '../../../src/rotator/contract.js';
import rotator, { ensureAlternatingRoles, postgresParamsSchema, type PostgresParams } from '../../../rotators/postgres/index.js';
import { scramVerifier } from '../../../rotators/postgres/scram.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

const suffix = randomBytes(4).toString('hex');
const q = pg.escapeIdentifier;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('postgres preflight');
});
afterAll(async () => {
  await db?.drop();
});

interface Setup {
  group: string;
  users: [string, string];
  ctx: RotatorContext<PostgresParams>;
}

function ctxFor(group: string, users: readonly [string, string], adminUrl = db.url): RotatorContext<PostgresParams> {
  return {
    secretId: `test/${group}`,
    runId: 'run-1',
    log: silentLogger,
    signal: new AbortController().signal,
    params: postgresParamsSchema.parse({ strategy: 'alternating-users', target: { database: db.name, admin: 'env:ADMIN', users, group } }),
    resolveRef: async () => adminUrl,
  };
}

/** A group and two users set up correctly, named after the case. */
async function setUp(tag: string, admin: pg.ClientBase | pg.Pool = db.pool, adminUrl?: string): Promise<Setup> {
  const group = `pf_${suffix}_${tag}`;
  const users: [string, string] = [`${group}_a`, `${group}_b`];
  await ensureAlternatingRoles(admin, { group, users, database: db.name });
  return { group, users, ctx: ctxFor(group, users, adminUrl) };
}

async function refusal(ctx: RotatorContext<PostgresParams>): Promise<PermanentError> {
  const err = await rotator.preflight?.(ctx, null).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PermanentError);
  return err as PermanentError;
}

/** Runs every SQL line of the refusal's hint, as an operator following it would. */
async function followHint(err: PermanentError): Promise<void> {
  const lines = (err.hint ?? '')
    .split('\n')
    .slice(1, -1)
    .map((l) => l.trim());
  for (const line of lines.filter((l) => l && !l.startsWith('--'))) await db.pool.query(line);
}

/** A login role with a password, as a URL. */
async function loginRole(name: string, attributes: string): Promise<string> {
  const password = randomBytes(18).toString('base64url');
  await db.pool.query(`create role ${q(name)} login ${attributes} password ${pg.escapeLiteral(scramVerifier(password))}`);
  return `postgres://${name}:${password}@${db.host}:${db.port}/${db.name}`;
}

describe('postgres preflight refuses, naming what is wrong and the SQL that fixes it', () => {
  it('a user that is not a member of the group', async () => {
    const { group, users, ctx } = await setUp('member');
    await db.pool.query(`revoke ${q(group)} from ${q(users[1])}`);
    const err = await refusal(ctx);
    expect(err.message).toContain(`${users[1]} is not a member of ${group}`);
    expect(err.message).not.toContain(`${users[0]} is not`);
    expect(err.hint).toContain(`GRANT "${group}" TO "${users[1]}";`);
    await followHint(err);
    await expect(rotator.preflight?.(ctx, null)).resolves.toBeUndefined();
  });

  it('a privilege granted to a user directly, and a table a user owns', async () => {
    const { group, users, ctx } = await setUp('grant');
    const granted = `t_${suffix}_granted`;
    const owned = `t_${suffix}_owned`;
    await db.pool.query(`create table ${q(granted)} (id int); alter table ${q(granted)} owner to ${q(group)}`);
    await db.pool.query(`grant select, insert on ${q(granted)} to ${q(users[0])}`);
    const seq = q(`${granted}_seq`);
    await db.pool.query(
      `create sequence ${seq}; alter sequence ${seq} owner to ${q(group)}; grant usage on sequence ${seq} to ${q(users[0])}`,
    );
    await db.pool.query(`create table ${q(owned)} (id int); alter table ${q(owned)} owner to ${q(users[1])}`);
    const err = await refusal(ctx);
    expect(err.message).toContain(`${users[0]} was granted privileges directly on sequence ${granted}_seq, table ${granted};`);
    expect(err.message).toContain(`${users[1]} owns table ${owned}`);
    expect(err.hint).toContain(`GRANT INSERT, SELECT ON TABLE ${granted} TO "${group}";`);
    expect(err.hint).toContain(`GRANT USAGE ON SEQUENCE ${granted}_seq TO "${group}";`);
    expect(err.hint).toContain(`REASSIGN OWNED BY "${users[1]}" TO "${group}";`);
    await followHint(err);
    await expect(rotator.preflight?.(ctx, null)).resolves.toBeUndefined();
    const { rows } = await db.pool.query<{ ok: boolean }>("select has_table_privilege($1, $2, 'INSERT') as ok", [users[1], granted]);
    expect(rows[0]?.ok).toBe(true); // the other user got it too, through the group
  });

  it('a group that can log in, a user that cannot, a user that does not exist', async () => {
    const { group, users } = await setUp('login');
    await db.pool.query(`alter role ${q(group)} login; alter role ${q(users[0])} nologin`);
    const missing = `${group}_missing`;
    const err = await refusal(ctxFor(group, [users[0], missing]));
    expect(err.message).toContain(`group role ${group} can log in`);
    expect(err.message).toContain(`role ${users[0]} cannot log in (NOLOGIN)`);
    expect(err.message).toContain(`role ${missing} does not exist`);
    await followHint(err);
    await expect(rotator.preflight?.(ctxFor(group, [users[0], missing]), null)).resolves.toBeUndefined();
  });

  it('a membership that does not inherit, another membership, and attributes or settings that differ', async () => {
    const { group, users, ctx } = await setUp('drift');
    const other = `${group}_other`;
    await db.pool.query(`create role ${q(other)} nologin; grant ${q(other)} to ${q(users[1])}`);
    await db.pool.query(`grant ${q(group)} to ${q(users[0])} with inherit false`);
    await db.pool.query(`alter role ${q(users[0])} createdb; alter role ${q(users[1])} set search_path = app, "My Schema"`);
    await db.pool.query(`alter role ${q(users[0])} set statement_timeout = '5s'; alter role ${q(users[1])} set statement_timeout = '10s'`);
    const err = await refusal(ctx);
    expect(err.message).toContain(`${users[0]} is a member of ${group} but does not inherit its privileges`);
    expect(err.message).toContain(`${users[1]} is also a member of ${other}`);
    expect(err.message).toContain(`${users[0]} has CREATEDB and ${users[1]} does not`);
    expect(err.message).toContain(`${users[1]} has the setting search_path=app, "My Schema" and ${users[0]} does not`);
    expect(err.message).toContain(`${users[0]} has the setting statement_timeout=5s and ${users[1]} has statement_timeout=10s`);
    await followHint(err);
    await expect(rotator.preflight?.(ctx, null)).resolves.toBeUndefined();
  });

  it('an admin without CREATEROLE', async () => {
    const { group, users } = await setUp('weak');
    const url = await loginRole(`pf_${suffix}_weak_admin`, '');
    const err = await refusal(ctxFor(group, users, url));
    expect(err.message).toContain(`the admin role pf_${suffix}_weak_admin has neither CREATEROLE nor SUPERUSER`);
    expect(JSON.stringify({ m: err.message, h: err.hint })).not.toContain(new URL(url).password);
  });

  it('a CREATEROLE admin without ADMIN OPTION on the users (PostgreSQL 16 and later)', async () => {
    const { group, users } = await setUp('noadmin');
    const admin = `pf_${suffix}_cr_admin`;
    const url = await loginRole(admin, 'createrole');
    const err = await refusal(ctxFor(group, users, url));
    for (const u of users) expect(err.message).toContain(`the admin role ${admin} has no ADMIN OPTION on ${u}`);
    await followHint(err);
    await expect(rotator.preflight?.(ctxFor(group, users, url), null)).resolves.toBeUndefined();
  });
});

describe('postgres rotator with a CREATEROLE admin that is not a superuser', () => {
  it('rotates the users it created, and needs pg_signal_backend to end sessions', async () => {
    const admin = `pf_${suffix}_owner_admin`;
    const url = await loginRole(admin, 'createrole');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { users, ctx } = await setUp('own', client, url).finally(() => client.end());

    await rotator.preflight?.(ctx, null);
    // With drain mode terminate, the missing right to end sessions is found before anything changes.
    const terminating = { ...ctx, drainMode: 'terminate' as const };
    const err = await refusal(terminating);
    expect(err.message).toContain(
      `the drain mode is terminate, and the admin role ${admin} may not end the sessions of ${users[0]} or ${users[1]}`,
    );
    expect(err.hint).toContain(`GRANT pg_signal_backend TO "${admin}";`);
    const v1 = await rotator.generate(ctx, null);
    await rotator.apply(ctx, v1, null);
    await rotator.verify(ctx, v1);
    const v2 = await rotator.generate(ctx, v1);
    await rotator.apply(ctx, v2, v1);
    await rotator.verify(ctx, v2);

    const held = new pg.Client({ host: db.host, port: db.port, database: db.name, user: users[0], password: String(v1.password) });
    held.on('error', () => undefined);
    await held.connect();
    try {
      expect(await rotator.inUse?.(ctx, v1)).toBe(1);
      const denied = await rotator.terminate?.(ctx, v1).then(
        () => undefined,
        (e: unknown) => e as PermanentError,
      );
      expect(denied).toBeInstanceOf(PermanentError);
      expect(denied?.hint).toContain(`GRANT pg_signal_backend TO "${admin}";`);
      await db.pool.query(`grant pg_signal_backend to ${q(admin)}`);
      await expect(rotator.preflight?.(terminating, v1)).resolves.toBeUndefined();
      expect(await rotator.terminate?.(ctx, v1)).toBe(1);
    } finally {
      await held.end().catch(() => undefined);
    }
    await rotator.revoke(ctx, v1, v2);
    await expect(rotator.verify(ctx, v1 as SecretValue)).rejects.toThrow(/SQLSTATE 28P01/);
    await rotator.verify(ctx, v2);
  });
});
