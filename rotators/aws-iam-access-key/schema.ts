// Parameters of the aws-iam-access-key rotator, as written under a secret in a policy.
import { z } from 'zod';
import { duration } from '../../src/policy/fields.js';
import { AWS_REGION_PATTERN } from '../../src/store/aws-location.js';

/** IAM's pattern for user names (CreateUser's UserName). */
const IAM_USER_NAME = /^[\w+=,.@-]{1,64}$/;

/** An IAM user's access keys, rotated in IAM's two slots (two keys per user). */
export const awsIamAccessKeyParamsSchema = z.strictObject({
  target: z.strictObject({
    /** The IAM user whose access key is rotated. */
    userName: z.string().regex(IAM_USER_NAME, { error: 'must be an IAM user name (letters, digits and +=,.@_-, at most 64)' }),
    /**
     * The region of the STS endpoint verify calls (and of the IAM client; IAM itself is global, the
     * region picks the partition). @defaultValue the AWS SDK's region (AWS_REGION)
     */
    region: z.string().regex(AWS_REGION_PATTERN, { error: 'must be an AWS region such as eu-central-1' }).optional(),
    /**
     * How long verify keeps asking STS while a new key settles (IAM is eventually consistent: a key
     * can be refused for a few seconds after CreateAccessKey). @defaultValue 60s
     */
    settleTimeout: duration().default('60s'),
    /**
     * How long a key rotor deactivated (at revoke) stays on the user, inactive, before rotor deletes
     * it: within it, `aws iam update-access-key --status Active` brings it back. @defaultValue 7d
     */
    deleteAfter: duration().default('7d'),
    /**
     * The drain check: the old key counts as still in use when IAM says it was used within this
     * window (and after the new key was created). @defaultValue 15m
     */
    lastUsedWindow: duration().default('15m'),
  }),
});

export type AwsIamAccessKeyParams = z.infer<typeof awsIamAccessKeyParamsSchema>;
