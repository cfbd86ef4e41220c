// The secret-store backends a policy may name (`store: { backend: ... }`) and their parameters.
import { z } from 'zod';
import { AWS_REGION_PATTERN, awsLocation } from './aws-location.js';

/** The only ARNs rotor can use as a SecretId; the name part may carry AWS's 6-character suffix. */
const AWS_SECRET_ARN = new RegExp(`^arn:aws[a-z-]*:secretsmanager:${AWS_REGION_PATTERN.source.slice(1, -1)}:\\d{12}:secret:[^\\s]+$`);

export interface StoreKind {
  readonly backend: string;
  /** Validates the whole `store:` map, `backend` included; unknown fields are errors. */
  readonly schema: z.ZodType<Record<string, unknown>>;
  /** Where the value lives in this backend, from validated params. */
  location(params: Record<string, unknown>, secretId: string): string;
}

const localSchema = z.strictObject({
  backend: z.literal('local'),
  /** Key in the local store. @defaultValue the secret id */
  name: z.string().min(1).max(512).optional(),
});

const awsSchema = z.strictObject({
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
  region: z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d$/, { error: 'must be an AWS region such as eu-central-1' }).optional(),
  /**
   * Informational: Secrets Manager encrypts every version with the secret's own KMS key, chosen when
   * the secret is created (rotor adds versions, it never creates secrets). rotor needs
   * kms:GenerateDataKey and kms:Decrypt on it when it is a customer-managed key.
   */
  kmsKeyId: z.string().min(1).optional(),
});

const KINDS: StoreKind[] = [
  { backend: 'local', schema: localSchema, location: (p, id) => (typeof p.name === 'string' ? p.name : id) },
  // A name is qualified with the policy's region (`eu-central-1:prod/db`); an ARN carries its own.
  { backend: 'aws-secrets-manager', schema: awsSchema, location: (p) => awsLocation({ secretId: String(p.secretId), region: p.region as string | undefined }) },
];

const BY_BACKEND = new Map(KINDS.map((k) => [k.backend, k]));

/** A secret without `store:` lives in the local store (encrypted in the state database). */
export const DEFAULT_STORE_BACKEND = 'local';

export function storeKind(backend: string): StoreKind | undefined {
  return BY_BACKEND.get(backend);
}

export function knownStores(): string[] {
  return [...BY_BACKEND.keys()];
}
