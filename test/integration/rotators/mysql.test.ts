// The mysql rotator against a private MariaDB (general query log on): each strategy's generate,
// apply, verify and revoke checked with a real client (both credentials log in during grace where
// the strategy promises overlap; after revoke the old one gets 1045, the new one logs in), grant
// drift refused with the difference named, provisioning, drain counts, and no generated password
// in any of the server's logs.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { RotatorContext, SecretValue } from '../../../src/rotator/contract.js';
import rotator, { mysqlParamsSchema, nativeHash, type MysqlParams } from '../../../rotators/mysql/index.js';
import { startMariadbServer, type MariadbServerHandle } from '../../helpers/mariadb-server.js';
import { mysqlLogin, mysqlSession } from '../../helpers/mysql-login.js';

let db: MariadbServerHandle;
const generated: string[] = [];

beforeAll(async () => {
  db = await startMariadbServer({ generalLog: true });
  await db.query('CREATE DATABASE app');
  await db.query('CREATE TABLE app.orders (id int primary key)');
  await db.query('CREATE TABLE app.secrets (id int primary key)');
});

afterAll(async () => {
  await db?.stop();
});

function ctxFor(params: Record<string, unknown>, secretId = 'db/app'): RotatorContext<MysqlParams> {
  return {
    secretId,
    runId: `run-${randomBytes(3).toString('hex')}`,
    params: mysqlParamsSchema.parse(params),
    resolveRef: async () => db.url,
    log: silentLogger,
    signal: new AbortController().signal,
  };
}

async function gen(ctx: RotatorContext<MysqlParams>, current: SecretValue | null): Promise<SecretValue> {
  const v = await rotator.generate(ctx, current);
  generated.push(String(v.password));
  return v;
}

const login = (v: SecretValue) => mysqlLogin(db, v);

describe('dual-password (MariaDB authentication chain)', () => {
  it('keeps both passwords through grace, and only the new one after revoke', async () => {
    const ctx = ctxFor({
      target: { admin: 'env:A', user: 'dual_app', provision: true, grants: [{ privileges: ['SELECT'], on: 'app.*' }] },
    });
    expect(ctx.params.strategy).toBe('dual-password');
    await rotator.preflight!(ctx, null);
    const v1 = await gen(ctx, null);
    await rotator.apply(ctx, v1, null);
    await rotator.apply(ctx, v1, null);
    await rotator.verify(ctx, v1);
    expect(await login(v1)).toBe('ok');

    await rotator.preflight!(ctx, v1);
    const v2 = await gen(ctx, v1);
    expect(v2.username).toBe('dual_app');
    await rotator.apply(ctx, v2, v1);
    await rotator.apply(ctx, v2, v1);
    await rotator.verify(ctx, v2);
    expect(await login(v1)).toBe('ok');
    expect(await login(v2)).toBe('ok');
    expect(await login({ username: 'dual_app', password: 'not-the-password' })).toBe(1045);

    await rotator.revoke(ctx, v1, v2);
    await rotator.revoke(ctx, v1, v2);
    expect(await login(v1)).toBe(1045);
    expect(await login(v2)).toBe('ok');
    const [row] = await db.query<Array<{ p: { authentication_string: string; auth_or?: unknown[] } }>>(
      "SELECT Priv AS p FROM mysql.global_priv WHERE User = 'dual_app'",
    );
    expect(row!.p.auth_or ?? [{}]).toHaveLength(1); // one password left in the chain
    expect(row!.p.authentication_string).toBe(nativeHash(String(v2.password)));
    // The provisioned grant holds.
    const grants = await db.query<Array<Record<string, string>>>("SHOW GRANTS FOR 'dual_app'@'%'");
    expect(grants.map((g) => Object.values(g)[0])).toContain('GRANT SELECT ON `app`.* TO `dual_app`@`%`');
  });

  it('discard: revoking the new password restores the current one alone', async () => {
    const ctx = ctxFor({ strategy: 'dual-password', target: { admin: 'env:A', user: 'dual_disc', provision: true } });
    await rotator.preflight!(ctx, null);
    const v1 = await gen(ctx, null);
    await rotator.apply(ctx, v1, null);
    const v2 = await gen(ctx, v1);
    await rotator.apply(ctx, v2, v1);
    await rotator.revoke(ctx, v2, v1);
    expect(await login(v2)).toBe(1045);
    expect(await login(v1)).toBe('ok');
  });

  it("traits: overlap without drain; inUse still counts the user's sessions", async () => {
    const ctx = ctxFor({ target: { admin: 'env:A', user: 'dual_app' } });
    expect(rotator.traits(ctx.params, ctx.secretId)).toMatchObject({ overlap: true, drain: false });
  });
});

describe('alternating-users (one default role)', () => {
  const params = {
    strategy: 'alternating-users',
    target: {
      admin: 'env:A',
      users: ['alt_a', 'alt_b'],
      role: 'alt_role',
      provision: true,
      grants: [{ privileges: ['SELECT', 'INSERT'], on: 'app.orders' }],
    },
  };

  it('gives the new password to the other user; both log in through grace, the old one gets 1045 after revoke', async () => {
    const ctx = ctxFor(params);
    await rotator.preflight!(ctx, null);
    await rotator.preflight!(ctx, null); // provisioning twice changes nothing
    const v1 = await gen(ctx, null);
    await rotator.apply(ctx, v1, null);
    await rotator.verify(ctx, v1);
    const v2 = await gen(ctx, v1);
    expect([v1.username, v2.username]).toEqual(['alt_a', 'alt_b']);
    await rotator.apply(ctx, v2, v1);
    await rotator.apply(ctx, v2, v1);
    expect(await login(v1)).toBe('ok');
    expect(await login(v2)).toBe('ok');

    // Drain: the old user's sessions are counted, and can be ended.
    const session = await mysqlSession(db, v1);
    expect(await rotator.inUse!(ctx, v1)).toBe(1);
    expect(await rotator.terminate!(ctx, v1)).toBe(1);
    expect(await rotator.inUse!(ctx, v1)).toBe(0);
    await session.close();

    await rotator.revoke(ctx, v1, v2);
    await rotator.revoke(ctx, v1, v2);
    expect(await login(v1)).toBe(1045); // not 4151 (locked): a revoke, not a lock
    expect(await login(v2)).toBe('ok');
    // The role's privileges apply at login, without SET ROLE.
    const mysql = (await import('mysql2/promise')).default;
    const c = await mysql.createConnection({ host: db.host, port: db.port, user: String(v2.username), password: String(v2.password) });
    await c.query('INSERT INTO app.orders VALUES (1)');
    await expect(c.query('SELECT * FROM app.secrets')).rejects.toMatchObject({ errno: 1142 });
    await c.end();
  });

  it('refuses grant drift in preflight, naming the difference', async () => {
    const ctx = ctxFor(params);
    await rotator.preflight!(ctx, null);
    await db.query("GRANT SELECT ON app.secrets TO 'alt_b'@'%'");
    try {
      const err = await rotator.preflight!(ctx, null).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as Error).message).toContain(
        'grant drift: alt_b@% holds GRANT SELECT ON `app`.`secrets` TO alt_b@%, and alt_a@% does not',
      );
      expect((err as PermanentError).hint).toContain(
        "GRANT SELECT ON `app`.`secrets` TO alt_role; REVOKE SELECT ON `app`.`secrets` FROM 'alt_b'@'%';",
      );
    } finally {
      await db.query("REVOKE SELECT ON app.secrets FROM 'alt_b'@'%'");
    }
    // Account options drift too (they sit on the USAGE line, next to the hashes, which are never repeated).
    await db.query("ALTER USER 'alt_b'@'%' REQUIRE SSL");
    try {
      const err = await rotator.preflight!(ctx, null).then(
        () => undefined,
        (e: unknown) => e as PermanentError,
      );
      expect(err?.message).toContain('grant drift: alt_a@% has account options (none) and alt_b@% has REQUIRE SSL');
      expect(err?.message).not.toMatch(/\*[0-9A-F]{40}/);
    } finally {
      await db.query("ALTER USER 'alt_b'@'%' REQUIRE NONE");
    }
    await db.query("SET DEFAULT ROLE NONE FOR 'alt_a'@'%'");
    try {
      // Without provision (which would set it again).
      const checkOnly = ctxFor({ ...params, target: { ...params.target, provision: false } });
      await expect(rotator.preflight!(checkOnly, null)).rejects.toThrow('alt_a@% does not have alt_role as its default role');
    } finally {
      await db.query("SET DEFAULT ROLE alt_role FOR 'alt_a'@'%'");
    }
    await rotator.preflight!(ctx, null);
  });

  it('refuses accounts that do not exist when provision is off', async () => {
    const ctx = ctxFor({ strategy: 'alternating-users', target: { admin: 'env:A', users: ['nobody_a', 'nobody_b'], role: 'alt_role' } });
    await expect(rotator.preflight!(ctx, null)).rejects.toThrow('account nobody_a@% does not exist');
  });
});

describe('single-user', () => {
  it('changes the password in place (no overlap), and revoke of a new one restores the old', async () => {
    const ctx = ctxFor({
      strategy: 'single-user',
      target: { admin: 'env:A', user: 'single_app', accountHost: '127.0.0.1', provision: true },
    });
    expect(rotator.traits(ctx.params, ctx.secretId)).toMatchObject({ overlap: false, drain: false });
    await rotator.preflight!(ctx, null);
    const v1 = await gen(ctx, null);
    await rotator.apply(ctx, v1, null);
    await rotator.verify(ctx, v1);
    const v2 = await gen(ctx, v1);
    await rotator.apply(ctx, v2, v1);
    expect(await login(v1)).toBe(1045);
    expect(await login(v2)).toBe('ok');
    await rotator.revoke(ctx, v1, v2);
    expect(await login(v2)).toBe('ok');
    await rotator.revoke(ctx, v2, v1); // a rollback
    expect(await login(v2)).toBe(1045);
    expect(await login(v1)).toBe('ok');
  });
});

describe("the server's logs", () => {
  it('never see a generated password: only hashes are sent', async () => {
    expect(generated.length).toBeGreaterThanOrEqual(8);
    expect(existsSync(db.generalLog)).toBe(true);
    const logs = readFileSync(db.generalLog, 'utf8') + readFileSync(db.errorLog, 'utf8');
    // The log is on and records the statements: the hashes are there.
    expect(logs).toContain(nativeHash(generated[0]!));
    for (const pw of generated) expect(logs.includes(pw)).toBe(false);
  });
});
