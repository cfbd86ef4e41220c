// Where an `aws-secrets-manager` value lives, as one string: the secret's name or ARN, qualified
// with a region when the policy names one. Kept free of the SDK so policy validation stays light.

/** `eu-central-1`, `us-gov-west-1`, ... */
export const AWS_REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d$/;

export interface AwsSecretLocation {
  /** Name or ARN, as Secrets Manager's SecretId accepts it. */
  secretId: string;
  /** From the ARN, or the policy's `region:`; undefined means the SDK's default chain (AWS_REGION). */
  region: string | undefined;
}

/**
 * The store location of a policy's `store:`. An ARN carries its region; a name is written
 * `<region>:<name>` when the policy names a region (secret names cannot contain `:`), else as is.
 */
export function awsLocation(params: { secretId: string; region?: string | undefined }): string {
  if (params.secretId.startsWith('arn:') || !params.region) return params.secretId;
  return `${params.region}:${params.secretId}`;
}

export function parseAwsLocation(location: string): AwsSecretLocation {
  if (location.startsWith('arn:')) {
    // arn:<partition>:secretsmanager:<region>:<account>:secret:<name>
    const region = location.split(':')[3];
    return { secretId: location, region: region || undefined };
  }
  const colon = location.indexOf(':');
  if (colon > 0 && AWS_REGION_PATTERN.test(location.slice(0, colon))) {
    return { secretId: location.slice(colon + 1), region: location.slice(0, colon) };
  }
  return { secretId: location, region: undefined };
}
