// `rotor status <id>` and `rotor repair <id>` on a secret kept in AWS Secrets Manager, run as the
// rotor executable against the Secrets Manager fake behind a real HTTP endpoint (the CLI finds it
// through AWS_ENDPOINT_URL_SECRETS_MANAGER, as it would find LocalStack or a VPC endpoint).
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/state/migrate.js';
import { syncSecrets } from '../../src/state/secrets.js';
import { awsStore } from '../helpers/aws/rig.js';
import { FakeSecretsManager } from '../helpers/aws/secrets-manager.js';
import { startSecretsManagerEndpoint, type FakeEndpoint } from '../helpers/aws/sm-http-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { secretFixture } from '../integration/engine/fixtures.js';
import { rotor } from '../helpers/cli.js';

describe('rotor status and repair on an AWS Secrets Manager secret', () => {
  let db: TestDatabase;
  let endpoint: FakeEndpoint;
  const fake = new FakeSecretsManager();

  beforeAll(async () => {
    db = await createTestDatabase('aws cli');
    await migrate(db.pool);
    endpoint = await startSecretsManagerEndpoint(fake);
  });
  afterAll(async () => {
    await endpoint?.close();
    await db?.drop();
  });

  it('shows a dangling AWSPENDING with the command that clears it; repair clears it and AWS can rotate again', async () => {
    const name = `prod/hooks/${randomUUID()}`;
    await fake.createSecret(name, { value: JSON.stringify({ value: randomBytes(24).toString('hex') }) });
    const dangling = `${randomUUID()}-1`;
    await fake.handle('PutSecretValue', {
      SecretId: name,
      ClientRequestToken: dangling,
      SecretString: JSON.stringify({ value: randomBytes(24).toString('hex') }),
      VersionStages: ['AWSPENDING'],
    });
    await expect(fake.handle('RotateSecret', { SecretId: name })).rejects.toThrow("A previous rotation isn't complete");
    const secret = secretFixture('hooks/signing-key', { rotator: { name: 'random-secret', params: {} }, store: awsStore(name) });
    await syncSecrets(db.pool, [secret], { actor: 'test', targetKeyOf: (s) => s.id, nextDueOf: () => new Date(Date.now() + 86_400_000) });
    const env = {
      ROTOR_DATABASE_URL: db.url,
      ROTOR_MASTER_KEY: randomBytes(32).toString('hex'),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIAROTORTEST',
      AWS_SECRET_ACCESS_KEY: 'not-a-real-key',
    };

    const before = await rotor(['status', secret.id, '--json'], env);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout).pending).toMatchObject({
      version: dangling,
      dangling: true,
      hint: expect.stringContaining(`rotor repair ${secret.id}`),
    });

    const repaired = await rotor(['repair', secret.id, '--yes', '--actor', 'alice'], env);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toContain(`cleared PENDING version ${dangling}`);
    expect((await fake.labels(name))[dangling]).toEqual([]);
    await expect(fake.handle('RotateSecret', { SecretId: name })).resolves.toBeDefined();

    const after = await rotor(['status', secret.id, '--json'], env);
    expect(JSON.parse(after.stdout).pending).toBeNull();
    // The region came from the policy (eu-central-1 in the location), the endpoint from the environment.
    expect(endpoint.actions).toContain('UpdateSecretVersionStage');
  }, 60_000);
});
