// AWS SDK errors made safe and actionable: access denied names the action and the resource and is
// permanent (no retry can grant a permission); throttling and outages are retried; nothing a
// request carried (a secret value) survives into the message.
import { PermanentError, RotorError, UnavailableError } from '../errors.js';
import { redactError } from '../redact.js';

/** What was being done, in IAM's words: `secretsmanager:PutSecretValue` on the secret's id or ARN. */
export interface AwsCall {
  action: string;
  resource: string;
}

/** Error codes (the SDK's `name`) AWS uses for a missing permission, across query and JSON protocols. */
const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'AuthorizationError', 'NotAuthorized']);
/** Credentials the SDK found but AWS refused: an operator must fix the identity rotor runs as. */
const BAD_IDENTITY = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
  'ExpiredToken',
]);
const THROTTLED = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
]);

interface SdkErrorShape {
  name?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  code?: string;
}

/** The SDK's error code (`AccessDeniedException`, `DBInstanceNotFoundFault`, ...), when it has one. */
export function awsErrorCode(err: unknown): string | undefined {
  const e = err as SdkErrorShape | null;
  return typeof e?.name === 'string' ? e.name : undefined;
}

/**
 * Turns whatever an SDK call threw into a rotor error: PermanentError for refusals no retry can
 * change (denied, bad credentials, no region), UnavailableError for throttling, 5xx and network
 * failures, RotorError otherwise. Messages are scrubbed of every tracked value.
 */
export function awsError(err: unknown, call: AwsCall, what = `${call.action} on ${call.resource}`): Error {
  if (err instanceof RotorError) return err;
  const safe = redactError(err instanceof Error ? err : new Error(String(err)));
  const code = awsErrorCode(err) ?? 'Error';
  const e = err as SdkErrorShape;
  if (DENIED.has(code)) {
    return new PermanentError(`AWS denied ${call.action} on ${call.resource}: ${safe.message}`, {
      cause: safe,
      hint: `allow ${call.action} on ${call.resource} for the IAM identity rotor runs as (docs/aws.md lists every action rotor needs)`,
    });
  }
  if (BAD_IDENTITY.has(code) || code === 'CredentialsProviderError') {
    return new PermanentError(`AWS refused rotor's credentials for ${call.action} (${code}): ${safe.message}`, {
      cause: safe,
      hint: 'rotor uses the AWS SDK default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, or the instance/task role',
    });
  }
  if (/region is missing/i.test(safe.message)) {
    return new PermanentError(`no AWS region for ${call.action} on ${call.resource}`, {
      cause: safe,
      hint: "set AWS_REGION in rotor's environment, or region: in the policy",
    });
  }
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLED.has(code) || e.$fault === 'server' || (status !== undefined && status >= 500) || isNetworkError(safe)) {
    return new UnavailableError(`${what}: AWS is unavailable or throttling (${code}): ${safe.message}`, { cause: safe });
  }
  return new RotorError(`${what} failed (${code}): ${safe.message}`, { cause: safe });
}

function isNetworkError(err: Error): boolean {
  return err.name === 'TimeoutError' || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket hang up/i.test(err.message);
}
