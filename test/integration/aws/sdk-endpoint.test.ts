// The aws-secrets-manager store as production runs it: region, endpoint and credentials from the
// SDK's default chain (AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ACCESS_KEY_ID), the whole
// SDK middleware stack, and rotor's redacting logger given to the client. Against the fake behind
// a real HTTP endpoint, so the SDK logs what it really logs: no value may appear in it.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { trackSecret } from '../../../src/redact.js';
import { createAwsSecretsManagerStore } from '../../../src/store/aws-secrets-manager/store.js';
import type { SecretStore } from '../../../src/store/contract.js';
import { FakeSecretsManager } from '../../helpers/aws/secrets-manager.js';
import { startSecretsManagerEndpoint, type FakeEndpoint } from '../../helpers/aws/sm-http-server.js';

const ENV = ['AWS_REGION', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_MAX_ATTEMPTS'] as const;

describe('the aws-secrets-manager store through the SDK default chain', () => {
  const fake = new FakeSecretsManager();
  let endpoint: FakeEndpoint;
  let store: SecretStore;
  let logText = '';
  const saved: Partial<Record<(typeof ENV)[number], string | undefined>> = {};

  beforeAll(async () => {
    endpoint = await startSecretsManagerEndpoint(fake);
    for (const k of ENV) saved[k] = process.env[k];
    Object.assign(process.env, {
      AWS_REGION: 'eu-central-1',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
      AWS_ACCESS_KEY_ID: 'AKIAROTORTEST',
      AWS_SECRET_ACCESS_KEY: 'not-a-real-key',
      AWS_MAX_ATTEMPTS: '1',
    });
    const log = createLogger({
      level: 'debug',
      destination: new Writable({
        write: (c, _e, done) => {
          logText += String(c);
          done();
        },
      }),
    });
    store = createAwsSecretsManagerStore({ log });
  });
  afterAll(async () => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await endpoint?.close();
  });

  it('reaches the endpoint named by AWS_ENDPOINT_URL_SECRETS_MANAGER in AWS_REGION, and the SDK logs every call without a value', async () => {
    const name = `svc/${randomUUID()}`;
    await fake.createSecret(name);
    const password = `pw-${randomUUID()}`;
    trackSecret(password);
    const v1 = `${randomUUID()}-1`;
    await store.putPending(name, v1, { username: 'svc', password });
    await store.promote(name, v1);
    expect((await store.get(name, 'CURRENT'))?.value).toEqual({ username: 'svc', password });
    expect(endpoint.actions).toEqual(
      expect.arrayContaining(['DescribeSecret', 'PutSecretValue', 'UpdateSecretVersionStage', 'GetSecretValue']),
    );

    // The SDK's logger middleware ran (one line per call, with the command's input and output) ...
    const sdkLines = logText.split('\n').filter((l) => l.includes('"aws":"secretsmanager"'));
    expect(sdkLines.some((l) => l.includes('PutSecretValueCommand'))).toBe(true);
    expect(sdkLines.some((l) => l.includes('GetSecretValueCommand'))).toBe(true);
    // ... and neither the request that carried the value nor the response that returned it shows it.
    expect(logText).not.toContain(password);
    expect(sdkLines.some((l) => l.includes('"SecretString":"[redacted]"'))).toBe(true);
  });

  it('turns AccessDeniedException into a PermanentError naming the action and the secret, without the value', async () => {
    const name = `svc/${randomUUID()}`;
    await fake.createSecret(name);
    await fake.deny('secretsmanager:PutSecretValue', name);
    const password = `pw-${randomUUID()}`;
    trackSecret(password);
    const err = await store.putPending(name, `${randomUUID()}-1`, { password }).then(
      () => undefined,
      (e: unknown) => e as PermanentError,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err!.message).toContain(`AWS denied secretsmanager:PutSecretValue on ${name}`);
    expect(err!.hint).toContain(`allow secretsmanager:PutSecretValue on ${name}`);
    expect(`${err!.message} ${err!.hint} ${err!.stack}`).not.toContain(password);
    expect(logText).not.toContain(password);
  });
});
