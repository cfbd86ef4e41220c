// The `aws-secrets-manager` store kind, declared once: its policy schema and location; the
// implementation (and the AWS SDK) loads on demand.
import { z } from 'zod';
import { AWS_REGION_PATTERN, awsLocation } from '../aws-location.js';
import type { StoreDescriptor } from '../contract.js';

/** The only ARNs rotor can use as a SecretId; the name part may carry AWS's 6-character suffix. */
const AWS_SECRET_ARN = new RegExp(`^arn:aws[a-z-]*:secretsmanager:${AWS_REGION_PATTERN.source.slice(1, -1)}:\\d{12}:secret:[^\\s]+$`);

export const awsSecretsManagerStoreSchema = z.strictObject({
  backend: z.literal('aws-secrets-manager'),
  /** Name or ARN of the secret; rotor stages versions on it as AWSPENDING/AWSCURRENT/AWSPREVIOUS. */
  secretId: z
    .string()
    .min(1)
    .max(2048)
    // An ARN of anything else (RDS, S3, an empty region) would fail every run: say so in validate.
    .refine((v) => !v.startsWith('arn:') || AWS_SECRET_ARN.test(v), {
      error: 'must be a secret name or a Secrets Manager secret ARN: arn:<partition>:secretsmanager:<region>:<account>:secret:<name>',
    })
    .refine((v) => v.startsWith('arn:') || v.length <= 512, { error: 'a Secrets Manager secret name has at most 512 characters' }),
  /** @defaultValue the AWS SDK's region (AWS_REGION) */
  region: z.string().regex(AWS_REGION_PATTERN, { error: 'must be an AWS region such as eu-central-1' }).optional(),
  /**
   * Informational: Secrets Manager encrypts every version with the secret's own KMS key, chosen when
   * the secret is created (rotor adds versions, it never creates secrets). rotor needs
   * kms:GenerateDataKey and kms:Decrypt on it when it is a customer-managed key.
   */
  kmsKeyId: z.string().min(1).optional(),
});

const descriptor: StoreDescriptor = {
  backend: 'aws-secrets-manager',
  schema: awsSecretsManagerStoreSchema,
  // A name is qualified with the policy's region (`eu-central-1:prod/db`); an ARN carries its own.
  location: (params) => awsLocation({ secretId: String(params.secretId), region: params.region as string | undefined }),
  // Region, endpoint and credentials from the SDK's default chain; clients are made on first use.
  open: async ({ log }) => (await import('./store.js')).createAwsSecretsManagerStore({ log }),
};

export default descriptor;
