// Credentials written into a policy are found wherever they are; references, ids and hosts are not.
import { describe, expect, it } from 'vitest';
import { findCredentialLiterals } from '../../../src/policy/credentials.js';
import type { RawProblem } from '../../../src/policy/issues.js';

function findings(value: unknown): string[] {
  const out: RawProblem[] = [];
  findCredentialLiterals(value, [], out);
  return out.map((p) => p.path.join('.'));
}

describe('credential literals', () => {
  it('flags URLs with a password, PEM blocks, AWS access key ids and known token formats anywhere', () => {
    expect(
      findings({
        a: 'postgres://admin:s3cret@db.internal/app',
        b: ['x', '-----BEGIN PRIVATE KEY-----\nMII...'],
        c: { d: 'AKIAIOSFODNN7EXAMPLE' },
        e: 'https://hooks.slack.com/services/T000/B000/XXXX',
        f: 'ghp_0123456789abcdefghijklmnopqrstuvwxyz',
      }),
    ).toEqual(['a', 'b.1', 'c.d', 'e', 'f']);
  });

  it('flags literal values under fields named like credentials, numbers included', () => {
    expect(findings({ password: 'hunter2', apiKey: 'abc', env: { VENDOR_TOKEN: 'x', DB_PASSWORD: 1234 }, clientSecret: 's' })).toEqual([
      'password',
      'apiKey',
      'env.VENDOR_TOKEN',
      'env.DB_PASSWORD',
      'clientSecret',
    ]);
  });

  it('does not flag references, ids, host names, URLs without passwords or an env file’s variable prefix', () => {
    expect(
      findings({
        admin: 'env:ADMIN_URL',
        secret: 'file:keys/hook.key',
        token: 'aws-sm:prod/token',
        secretId: 'prod/payments/db',
        kmsKeyId: 'alias/payments',
        host: 'db.internal',
        url: 'https://user@payments.internal/reload',
        consumers: [{ type: 'env-file', path: '/etc/app.env', key: 'DB' }],
        passValue: true,
        description: 'rotates the password of the payments token',
      }),
    ).toEqual([]);
  });
});
