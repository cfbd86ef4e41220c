// Opt-in: the store contract against LocalStack's Secrets Manager, when AWS_ENDPOINT_URL is set
// (docker compose --profile aws up; AWS_ENDPOINT_URL=http://localhost:4566 AWS_REGION=us-east-1
// AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test npx vitest run test/integration/aws/localstack.test.ts).
// CI does not set it. The SDK's default chain picks up the endpoint, region and credentials.
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe } from 'vitest';
import { createAwsSecretsManagerStore } from '../../../src/store/aws-secrets-manager/store.js';
import { storeContract } from '../../helpers/store-contract.js';

describe.runIf(Boolean(process.env.AWS_ENDPOINT_URL))('the aws-secrets-manager store on LocalStack', () => {
  const admin = new SecretsManagerClient({});
  storeContract({
    name: 'aws-secrets-manager (LocalStack)',
    store: () => createAwsSecretsManagerStore(),
    location: async () => {
      const name = `rotor-test/${randomUUID()}`;
      await admin.send(new CreateSecretCommand({ Name: name }));
      return name;
    },
  });
});
