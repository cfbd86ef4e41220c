// `aws-sm:` references against the stateful Secrets Manager fake: whole values, one key of a JSON
// secret, names, ARNs and regions, and errors that name the reference, never the value. The last
// test resolves the postgres rotator's admin URL through the resolver workers use, on a real server.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsRefReader } from '../../../src/aws/secret-refs.js';
import { secretRefResolver } from '../../../src/cli/context.js';
import { InvalidInputError, PermanentError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { resolveRef } from '../../../src/policy/refs.js';
import rotator, { postgresParamsSchema } from '../../../rotators/postgres/index.js';
import { installAwsFakes } from '../../helpers/aws/install.js';
import { FAKE_REGION, FakeSecretsManager } from '../../helpers/aws/secrets-manager.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { rejectionOf } from '../../helpers/rejection.js';
import { secretFixture } from '../engine/fixtures.js';

const fake = new FakeSecretsManager();
const read = createAwsRefReader();
let uninstall: () => void;
let db: TestDatabase;
beforeAll(async () => {
  uninstall = installAwsFakes({ sm: fake });
  db = await createTestDatabase('aws refs');
});
afterAll(async () => {
  uninstall?.();
  await db?.drop();
});

const password = `pw-${randomBytes(12).toString('hex')}`;

describe('aws-sm: references', () => {
  it('resolve to the whole SecretString, or one key of its JSON, by name, ARN or region:name', async () => {
    const name = `ops/${randomUUID()}`;
    const arn = await fake.createSecret(name, { value: JSON.stringify({ username: 'rotor_admin', password, port: 5432 }) });
    expect(JSON.parse(await read(name))).toMatchObject({ username: 'rotor_admin', password });
    expect(await read(`${name}#password`)).toBe(password);
    expect(await read(`${name}#port`)).toBe('5432');
    expect(await read(`${arn}#username`)).toBe('rotor_admin');
    expect(await read(`${FAKE_REGION}:${name}#password`)).toBe(password);
    // Through resolveRef, as every reference in a policy is read.
    const opts = { baseDir: '.', env: {}, readFile: async () => '', awsSecretsManager: read };
    expect(await resolveRef(`aws-sm:${name}#password`, opts)).toBe(password);
    const off = await rejectionOf(resolveRef(`aws-sm:${name}`, { ...opts, awsSecretsManager: undefined }), InvalidInputError);
    expect(off.message).toContain('needs AWS Secrets Manager');
  });

  it('fail with the reference named and the value never shown', async () => {
    const name = `ops/${randomUUID()}`;
    await fake.createSecret(name, { value: JSON.stringify({ username: 'rotor_admin', password }) });
    const plain = `ops/${randomUUID()}`;
    await fake.createSecret(plain, { value: password });
    const cases: Array<[string, RegExp]> = [
      [`${name}#nope`, /has no string or number at key nope \(its keys: username, password\)/],
      [`${plain}#password`, /is not JSON, so it has no key password/],
      [`ops/${randomUUID()}`, /does not exist/],
      [`${name}#`, /is malformed/],
    ];
    for (const [id, message] of cases) {
      const err = await rejectionOf(read(id));
      expect(err.message).toMatch(message);
      expect(err.message).toContain(`aws-sm:${id}`);
      expect(JSON.stringify({ m: err.message, h: (err as PermanentError).hint })).not.toContain(password);
    }
    await fake.deny('secretsmanager:GetSecretValue', name);
    const denied = await rejectionOf(read(`${name}#password`), PermanentError);
    expect(denied.message).toContain(`AWS denied secretsmanager:GetSecretValue on ${name}`);
    await fake.allowAll();
  });

  it('reach the rotator through the resolver workers use: the postgres admin URL from Secrets Manager', async () => {
    const name = `ops/${randomUUID()}`;
    await fake.createSecret(name, { value: JSON.stringify({ url: db.url }) });
    const secret = secretFixture('refs/db');
    const resolve = secretRefResolver(silentLogger);
    const group = `refs_${randomBytes(3).toString('hex')}`;
    await db.pool.query(
      `create role ${group} nologin; create role ${group}_a login in role ${group}; create role ${group}_b login in role ${group}`,
    );
    const ctx = {
      secretId: secret.id,
      runId: 'run-1',
      log: silentLogger,
      signal: new AbortController().signal,
      params: postgresParamsSchema.parse({
        strategy: 'alternating-users',
        target: { database: db.name, admin: `aws-sm:${name}#url`, users: [`${group}_a`, `${group}_b`], group },
      }),
      resolveRef: (ref: string) => resolve(ref, secret),
    };
    await rotator.preflight?.(ctx, null);
    const v1 = await rotator.generate(ctx, null);
    await rotator.apply(ctx, v1, null);
    await rotator.verify(ctx, v1);
    expect((await fake.calls()).filter((c) => c === `GetSecretValue ${name}`).length).toBeGreaterThanOrEqual(2);
  });
});
