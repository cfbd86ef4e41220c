// The postgres rotator without a server: parameters, traits, what generate produces, admin URLs
// and error classes.
import { describe, expect, it } from 'vitest';
import { PermanentError, RotorError, UnavailableError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { RotatorContext, SecretValue } from '../../../src/rotator/contract.js';
import rotator, { postgresParamsSchema, type PostgresParams } from '../../../rotators/postgres/index.js';
import { classify, parseAdminUrl } from '../../../rotators/postgres/connection.js';

const ADMIN_URL = 'postgres://rotor_admin:s3cr%40t-admin-pw@db.internal:6543/postgres';

function params(input: unknown): PostgresParams {
  return postgresParamsSchema.parse(input);
}

const alternating = () =>
  params({
    strategy: 'alternating-users',
    target: { database: 'payments', admin: 'env:ADMIN_URL', users: ['payments_a', 'payments_b'], group: 'payments' },
  });
const single = () =>
  params({
    strategy: 'single-user',
    target: { host: 'db.example', port: 5433, database: 'reports', admin: 'env:ADMIN_URL', user: 'reports' },
  });

function ctx(p: PostgresParams, resolved = ADMIN_URL): RotatorContext<PostgresParams> & { refs: string[] } {
  const refs: string[] = [];
  return {
    secretId: 'payments/db-app',
    runId: 'run-1',
    params: p,
    log: silentLogger,
    signal: new AbortController().signal,
    refs,
    resolveRef: async (ref) => (refs.push(ref), resolved),
  };
}

describe('postgres parameters', () => {
  it('default the password rules and TLS mode', () => {
    const p = alternating();
    expect(p.generate).toEqual({ length: 32, exclude: ':/@"\'\\' });
    // Unset: verified TLS, or prefer on loopback, decided with the host (postgres-tls.test.ts).
    expect(p.target.sslmode).toBeUndefined();
  });

  it('refuse a group that is also one of the users', () => {
    const r = postgresParamsSchema.safeParse({
      strategy: 'alternating-users',
      target: { database: 'd', admin: 'env:X', users: ['a', 'g'], group: 'g' },
    });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('must not be one of the users');
  });

  it('refuse rules that leave too little randomness', () => {
    const r = postgresParamsSchema.safeParse({
      strategy: 'single-user',
      target: { database: 'd', admin: 'env:X', user: 'u' },
      generate: { length: 16, exclude: '!"#$%&\'()*+,-./:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~' },
    });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('too little randomness');
  });

  it('refuse an admin credential written in the policy', () => {
    const r = postgresParamsSchema.safeParse({ strategy: 'single-user', target: { database: 'd', admin: ADMIN_URL, user: 'u' } });
    expect(r.success).toBe(false);
  });
});

describe('postgres traits', () => {
  it('alternating users overlap and can be drained; single user neither', () => {
    expect(rotator.traits(alternating(), 'team/s')).toEqual({
      overlap: true,
      drain: true,
      targetKey: 'postgres://(env:ADMIN_URL)/payments',
      revokesInherited: true,
    });
    expect(rotator.traits(single(), 'team/s')).toEqual({ overlap: false, drain: false, targetKey: 'postgres://db.example:5433/reports' });
  });
});

describe('postgres generate', () => {
  it('starts with the first user, then alternates to the user not in use', async () => {
    const c = ctx(alternating());
    const first = await rotator.generate(c, null);
    expect(first).toMatchObject({ engine: 'postgres', host: 'db.internal', port: 6543, dbname: 'payments', username: 'payments_a' });
    const second = await rotator.generate(c, first);
    expect(second.username).toBe('payments_b');
    expect((await rotator.generate(c, second)).username).toBe('payments_a');
    expect(second.password).not.toBe(first.password);
    expect(String(second.password)).toHaveLength(32);
  });

  it('keeps the one user for single-user, and takes host and port from the policy without reading the admin URL', async () => {
    const c = ctx(single());
    const value = await rotator.generate(c, { username: 'reports', password: 'old-password-1234' });
    expect(value).toMatchObject({ engine: 'postgres', host: 'db.example', port: 5433, dbname: 'reports', username: 'reports' });
    expect(c.refs).toEqual([]);
  });

  it('refuses a current credential for a role the policy does not name', async () => {
    const foreign: SecretValue = { username: 'someone_else', password: 'x-password-12345' };
    await expect(rotator.generate(ctx(alternating()), foreign)).rejects.toBeInstanceOf(PermanentError);
    await expect(rotator.preflight?.(ctx(alternating()), foreign)).rejects.toThrow(/does not name/);
  });
});

describe('admin URL', () => {
  it('reads user, percent-encoded password, host, port and database', () => {
    expect(parseAdminUrl(ADMIN_URL, 'prefer')).toEqual({
      host: 'db.internal',
      port: 6543,
      database: 'postgres',
      user: 'rotor_admin',
      password: 's3cr@t-admin-pw',
      sslmode: 'prefer',
    });
    expect(parseAdminUrl('postgresql://u@[::1]/x?sslmode=require', 'disable')).toMatchObject({
      host: '::1',
      port: 5432,
      sslmode: 'require',
    });
  });

  it('never repeats the URL, which holds a password, when refusing it', () => {
    for (const bad of [
      'not a url s3cr3t-pw',
      'mysql://u:s3cr3t-pw@h/db',
      'postgres://:s3cr3t-pw@h/db',
      'postgres://u:s3cr3t-pw@h/db?sslmode=bogus',
    ]) {
      let thrown: unknown;
      try {
        parseAdminUrl(bad, 'prefer');
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(PermanentError);
      expect(
        JSON.stringify({ m: (thrown as Error).message, h: (thrown as PermanentError).hint, c: String((thrown as Error).cause) }),
      ).not.toContain('s3cr3t-pw');
    }
  });
});

describe('error classes', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('makes refusals permanent and an unreachable server retryable', () => {
    expect(classify('x', pgError('28P01', 'password authentication failed for user "a"'))).toBeInstanceOf(PermanentError);
    expect(classify('x', pgError('42501', 'permission denied to alter role'))).toBeInstanceOf(PermanentError);
    expect(classify('x', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'))).toBeInstanceOf(UnavailableError);
    expect(classify('x', pgError('57P01', 'terminating connection due to administrator command'))).toBeInstanceOf(UnavailableError);
    expect(classify('x', pgError('XX000', 'internal error'))).toBeInstanceOf(RotorError);
  });

  it('scrubs connection-string passwords from messages and causes', () => {
    const err = classify('connecting', new Error('failed postgres://u:leaked-pw-123@h/db'));
    expect(err.message).not.toContain('leaked-pw-123');
    expect(String((err.cause as Error).message)).not.toContain('leaked-pw-123');
  });
});
