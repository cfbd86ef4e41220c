// What only the aws-secrets-manager store has to handle: Secrets Manager making a secret's first
// version AWSCURRENT at once, AWSPENDING left on the AWSCURRENT version by AWS's own rotation
// functions, secrets rotor must not write to, ARNs and regions in locations, values it cannot read.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/errors.js';
import { parseAwsLocation } from '../../../src/store/aws-location.js';
import { createAwsSecretsManagerStore, stagesOfLabels } from '../../../src/store/aws-secrets-manager/store.js';
import { storeKind } from '../../../src/store/catalogue.js';
import { installAwsFakes } from '../../helpers/aws/install.js';
import { FakeSecretsManager } from '../../helpers/aws/secrets-manager.js';

const fake = new FakeSecretsManager();
let uninstall: () => void;
beforeAll(() => void (uninstall = installAwsFakes({ sm: fake })));
afterAll(() => uninstall?.());

const store = createAwsSecretsManagerStore();
const vid = (): string => `${randomUUID()}-1`;

describe('the aws-secrets-manager store', () => {
  it('stages the first version of an empty secret: AWS makes it AWSCURRENT at once, rotor reads it as CURRENT, promote only drops AWSPENDING', async () => {
    const name = `first/${randomUUID()}`;
    await fake.createSecret(name);
    const v1 = vid();
    await store.putPending(name, v1, { password: `pw-${randomUUID()}` });
    expect(await fake.labels(name)).toEqual({ [v1]: ['AWSPENDING', 'AWSCURRENT'] });
    expect((await store.get(name, 'CURRENT'))?.versionId).toBe(v1);
    expect(await store.get(name, 'PENDING')).toBeNull();
    await store.promote(name, v1);
    expect(await fake.labels(name)).toEqual({ [v1]: ['AWSCURRENT'] });
  });

  it('does not count AWSPENDING on the AWSCURRENT version (a finished AWS rotation) as pending', async () => {
    const name = `finished/${randomUUID()}`;
    await fake.createSecret(name, { value: JSON.stringify({ password: `pw-${randomUUID()}` }) });
    const current = Object.keys(await fake.labels(name))[0]!;
    await fake.handle('UpdateSecretVersionStage', { SecretId: name, VersionStage: 'AWSPENDING', MoveToVersionId: current });
    expect(stagesOfLabels(['AWSCURRENT', 'AWSPENDING'])).toEqual(['CURRENT']);
    expect(await store.get(name, 'PENDING')).toBeNull();
    const v2 = vid();
    await store.putPending(name, v2, { password: `pw-${randomUUID()}` });
    expect(await fake.labels(name)).toEqual({ [current]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
  });

  it('refuses secrets it must not write: missing, with AWS rotation on, owned by a service', async () => {
    const missing = await store.putPending(`missing/${randomUUID()}`, vid(), { password: 'x'.repeat(20) }).then(
      () => undefined,
      (e: unknown) => e as PermanentError,
    );
    expect(missing).toBeInstanceOf(PermanentError);
    expect(missing!.message).toContain('does not exist');
    expect(missing!.hint).toContain('aws secretsmanager create-secret');

    const rotating = `rotating/${randomUUID()}`;
    await fake.createSecret(rotating, { rotationEnabled: true });
    await expect(store.putPending(rotating, vid(), { password: 'x'.repeat(20) })).rejects.toThrow(
      /rotation turned on; two rotators would fight/,
    );

    const owned = `rds!db-${randomUUID()}`;
    await fake.createSecret(owned, { owningService: 'rds' });
    await expect(store.putPending(owned, vid(), { password: 'x'.repeat(20) })).rejects.toThrow(/managed by rds/);
    expect(Object.keys(await fake.labels(rotating))).toEqual([]);
  });

  it('reads a secret by ARN, and refuses a value that is not a flat JSON object without quoting it', async () => {
    const name = `foreign/${randomUUID()}`;
    const hidden = `hidden-${randomUUID()}`;
    const arn = await fake.createSecret(name, { value: JSON.stringify({ nested: { password: hidden } }) });
    const err = await store.get(arn, 'CURRENT').then(
      () => undefined,
      (e: unknown) => e as PermanentError,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err!.message).toContain('field nested is a object');
    expect(`${err!.message} ${err!.hint}`).not.toContain(hidden);
  });

  it('puts the region of the policy into the location, and takes it back out; an ARN carries its own', () => {
    const kind = storeKind('aws-secrets-manager')!;
    expect(kind.location({ backend: 'aws-secrets-manager', secretId: 'prod/db', region: 'eu-west-1' }, 'x')).toBe('eu-west-1:prod/db');
    expect(kind.location({ backend: 'aws-secrets-manager', secretId: 'prod/db' }, 'x')).toBe('prod/db');
    expect(parseAwsLocation('eu-west-1:prod/db')).toEqual({ secretId: 'prod/db', region: 'eu-west-1' });
    expect(parseAwsLocation('prod/db')).toEqual({ secretId: 'prod/db', region: undefined });
    const arn = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:prod/db-AbCdEf';
    expect(parseAwsLocation(arn)).toEqual({ secretId: arn, region: 'us-east-2' });
  });
});
