// The postgres rotator against a real server: generate → apply → verify → revoke for both
// strategies, checked by logging in with a real client, and no cleartext in any statement sent.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PermanentError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { RotatorContext, SecretValue } from '../../../src/rotator/contract.js';
import rotator, {
  ensureAlternatingRoles,
  ensureSingleUser,
  postgresParamsSchema,
  type PostgresParams,
} from '../../../rotators/postgres/index.js';
import { verifierMatches } from '../../../rotators/postgres/scram.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

// Every statement any pg.Client sends in this file, with its parameters: the server can only log
// what it receives, so a password absent from all of them is absent from its log.
const sent: string[] = [];
const realQuery = pg.Client.prototype.query;
vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
  sent.push(JSON.stringify(args, (_k, v: unknown) => (typeof v === 'function' ? undefined : v)));
  return (realQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof realQuery);

const passwords: string[] = [];
const suffix = randomBytes(4).toString('hex');
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('postgres rotator');
});
afterAll(async () => {
  await db?.drop();
  vi.restoreAllMocks();
});

function ctxFor(input: unknown): RotatorContext<PostgresParams> {
  return {
    secretId: `test/${suffix}`,
    runId: 'run-1',
    params: postgresParamsSchema.parse(input),
    log: silentLogger,
    signal: new AbortController().signal,
    resolveRef: async (ref) => (ref === 'env:ADMIN' ? db.url : Promise.reject(new Error(`unexpected ref ${ref}`))),
  };
}

async function generate(ctx: RotatorContext<PostgresParams>, current: SecretValue | null): Promise<SecretValue> {
  const value = await rotator.generate(ctx, current);
  passwords.push(String(value.password));
  return value;
}

/** Logs in as the credential and returns current_user, or the error's SQLSTATE. */
async function login(v: SecretValue): Promise<string> {
  const client = new pg.Client({ host: db.host, port: db.port, database: db.name, user: String(v.username), password: String(v.password) });
  try {
    await client.connect();
    const { rows } = await client.query<{ u: string }>('select current_user as u');
    return rows[0]?.u ?? '';
  } catch (err) {
    return `SQLSTATE ${(err as { code?: string }).code}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function storedVerifier(role: string): Promise<string | null> {
  const { rows } = await db.pool.query<{ p: string | null }>('select rolpassword as p from pg_authid where rolname = $1', [role]);
  return rows[0]?.p ?? null;
}

/** Statements sent while `fn` runs. */
async function statementsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const from = sent.length;
  await fn();
  return sent.slice(from);
}

describe('postgres rotator, alternating users', () => {
  const group = `app_${suffix}`;
  const users = [`app_${suffix}_a`, `app_${suffix}_b`] as const;
  let ctx: RotatorContext<PostgresParams>;
  let v1: SecretValue;
  let v2: SecretValue;

  beforeAll(async () => {
    ctx = ctxFor({ strategy: 'alternating-users', target: { database: db.name, admin: 'env:ADMIN', users, group } });
    await ensureAlternatingRoles(db.pool, { group, users, database: db.name });
    await ensureAlternatingRoles(db.pool, { group, users, database: db.name }); // idempotent
    await db.pool.query(`create table orders (id int); alter table orders owner to ${pg.escapeIdentifier(group)}`);
  });

  it('passes preflight on a target set up as the strategy needs', async () => {
    await expect(rotator.preflight?.(ctx, null)).resolves.toBeUndefined();
  });

  it('bootstraps the first user: the new password logs in and has the group privileges', async () => {
    v1 = await generate(ctx, null);
    expect(v1).toMatchObject({ engine: 'postgres', host: db.host, port: db.port, dbname: db.name, username: users[0] });
    expect(await login(v1)).toBe('SQLSTATE 28P01'); // created without a password
    await rotator.apply(ctx, v1, null);
    await rotator.verify(ctx, v1);
    expect(await login(v1)).toBe(users[0]);
  });

  it('stores the verifier built client-side, as sent, and the cleartext in no statement', async () => {
    const stored = await storedVerifier(users[0]);
    expect(stored).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    expect(verifierMatches(stored ?? '', String(v1.password))).toBe(true);
    expect(sent.some((s) => s.includes(`PASSWORD '${stored}'`))).toBe(true);
  });

  it('gives the next password to the other user while the old one keeps working, then revokes the old one', async () => {
    v2 = await generate(ctx, v1);
    expect(v2.username).toBe(users[1]);
    await rotator.apply(ctx, v2, v1);
    await rotator.verify(ctx, v2);
    // The overlap: both credentials work, with the same privileges, until revoke.
    expect([await login(v1), await login(v2)]).toEqual([users[0], users[1]]);
    for (const v of [v1, v2]) {
      const c = new pg.Client({ host: db.host, port: db.port, database: db.name, user: String(v.username), password: String(v.password) });
      await c.connect();
      await expect(c.query('select count(*) from orders')).resolves.toMatchObject({ rowCount: 1 });
      await c.end();
    }
    await rotator.revoke(ctx, v1, v2);
    expect(await login(v1)).toBe('SQLSTATE 28P01');
    expect(await login(v2)).toBe(users[1]);
    expect(await storedVerifier(users[0])).toBeNull();
  });

  it('applies idempotently: a credential that already works is not set again', async () => {
    const before = await storedVerifier(users[1]);
    const statements = await statementsDuring(() => rotator.apply(ctx, v2, v1));
    expect(statements.filter((s) => /ALTER ROLE/i.test(s))).toEqual([]);
    expect(await storedVerifier(users[1])).toBe(before);
  });

  it('revokes idempotently', async () => {
    await rotator.revoke(ctx, v1, v2);
    expect(await login(v1)).toBe('SQLSTATE 28P01');
    expect(await login(v2)).toBe(users[1]);
  });

  it('refuses to revoke when the credential to keep does not work', async () => {
    const revoked = v1;
    await expect(rotator.revoke(ctx, v2, revoked)).rejects.toThrow(PermanentError);
    expect(await login(v2)).toBe(users[1]);
  });

  it('refuses to apply a new password to the role the current credential uses', async () => {
    const same = { ...v2, password: 'Another-Password-For-The-Same-Role' };
    await expect(rotator.apply(ctx, same, v2)).rejects.toThrow(/current credential uses that role/);
    expect(await login(v2)).toBe(users[1]);
  });

  it('verify throws a plain error, without the password, when the server refuses the credential', async () => {
    const wrong = { ...v2, password: 'Wrong-Password-That-Must-Not-Leak' };
    const err = await rotator.verify(ctx, wrong).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PermanentError);
    expect(err?.message).toMatch(/refused the credential for .* \(SQLSTATE 28P01\)/);
    expect(JSON.stringify({ m: err?.message, s: err?.stack, c: String(err?.cause) })).not.toContain('Wrong-Password-That-Must-Not-Leak');
  });

  it('counts a session held with a credential, and terminate ends it', async () => {
    const held = new pg.Client({
      host: db.host,
      port: db.port,
      database: db.name,
      user: String(v2.username),
      password: String(v2.password),
    });
    held.on('error', () => undefined);
    await held.connect();
    try {
      expect(await rotator.inUse?.(ctx, v2)).toBe(1);
      expect(await rotator.inUse?.(ctx, v1)).toBe(0);
      expect(await rotator.terminate?.(ctx, v2)).toBe(1);
      expect(await rotator.inUse?.(ctx, v2)).toBe(0);
      await expect(held.query('select 1')).rejects.toThrow();
    } finally {
      await held.end().catch(() => undefined);
    }
  });

  it('sent no generated password in any statement, and none shows in pg_stat_activity', async () => {
    const { rows } = await db.pool.query<{ query: string }>("select coalesce(query, '') as query from pg_stat_activity");
    for (const password of passwords) {
      expect(sent.filter((s) => s.includes(password))).toEqual([]);
      expect(rows.filter((r) => r.query.includes(password))).toEqual([]);
    }
    expect(sent.filter((s) => /ALTER ROLE/i.test(s)).length).toBeGreaterThanOrEqual(3);
  });

  it('reports traits for the drain check and overlap', () => {
    expect(rotator.traits(ctx.params, ctx.secretId)).toMatchObject({ overlap: true, drain: true });
  });
});

describe('postgres rotator, single user', () => {
  const user = `rep_${suffix}`;
  let ctx: RotatorContext<PostgresParams>;

  beforeAll(async () => {
    ctx = ctxFor({ strategy: 'single-user', target: { database: db.name, admin: 'env:ADMIN', user } });
    await ensureSingleUser(db.pool, { user, database: db.name });
  });

  it('changes the one password in place; revoke with the old one kept restores it (rollback)', async () => {
    await rotator.preflight?.(ctx, null);
    const v1 = await generate(ctx, null);
    await rotator.apply(ctx, v1, null);
    await rotator.verify(ctx, v1);

    const v2 = await generate(ctx, v1);
    expect(v2.username).toBe(user);
    await rotator.apply(ctx, v2, v1);
    await rotator.verify(ctx, v2);
    expect(await login(v1)).toBe('SQLSTATE 28P01'); // no overlap: the old password stops at once
    expect(await login(v2)).toBe(user);

    await rotator.revoke(ctx, v2, v1);
    expect([await login(v1), await login(v2)]).toEqual([user, 'SQLSTATE 28P01']);
    const again = await statementsDuring(() => rotator.revoke(ctx, v2, v1));
    expect(again.filter((s) => /ALTER ROLE/i.test(s))).toEqual([]);
    expect(await login(v1)).toBe(user);
  });

  it('has no overlap and no drain check', () => {
    expect(rotator.traits(ctx.params, ctx.secretId)).toMatchObject({ overlap: false, drain: false });
  });

  it('sent no generated password in any statement', () => {
    for (const password of passwords) expect(sent.filter((s) => s.includes(password))).toEqual([]);
  });
});
