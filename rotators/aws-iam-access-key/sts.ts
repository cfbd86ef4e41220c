// Proof that an access key works: sts:GetCallerIdentity signed with it, as any consumer's first call
// would be. It needs no permission (AWS answers it for every valid key), so a refusal means the key
// itself is not (yet) valid.
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { awsError, awsErrorCode } from '../../src/aws/errors.js';
import { sdkLogger } from '../../src/aws/sdk-logger.js';
import type { Logger } from '../../src/log.js';

/** Codes STS answers a key it does not accept with (unknown or inactive id; wrong secret). */
const REFUSED = new Set(['InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'AuthFailure']);

/** The identity ARN the key signs as, or null when STS refuses the key. Other failures throw. */
export async function callerArn(
  key: { accessKeyId: string; secretAccessKey: string },
  region: string | undefined,
  log: Logger,
  signal: AbortSignal,
): Promise<string | null> {
  const client = new STSClient({
    ...(region ? { region } : {}),
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    logger: sdkLogger(log, 'sts'),
    // A refused key is an answer, not a fault to retry; verify does its own bounded waiting.
    maxAttempts: 1,
  });
  try {
    const out = await client.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
    return out.Arn ?? '';
  } catch (err) {
    if (REFUSED.has(awsErrorCode(err) ?? '')) return null;
    throw awsError(err, { action: 'sts:GetCallerIdentity', resource: 'the caller' });
  } finally {
    client.destroy();
  }
}

/** True when `arn` is IAM user `userName` (any path): `arn:<partition>:iam::<account>:user/[path/]<name>`. */
export function isUserArn(arn: string, userName: string): boolean {
  return /^arn:[\w-]+:iam::\d{12}:user\//.test(arn) && arn.endsWith(`/${userName}`);
}
