// `aws-sm:` references: credentials rotor itself needs (an admin URL, a signing key), kept in AWS
// Secrets Manager. `aws-sm:ID` is the AWSCURRENT SecretString; `aws-sm:ID#key` one key of its JSON
// (as RDS and most rotation functions store a credential). ID is a name, an ARN, or
// `<region>:<name>`. Secret names cannot contain `#`, so the key is unambiguous.
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { InvalidInputError, PermanentError } from '../errors.js';
import { trackSecret } from '../redact.js';
import { parseAwsLocation } from '../store/aws-location.js';
import { awsError, awsErrorCode } from './errors.js';
import { secretsManagerClients, type SecretsManagerClientsOptions } from './sm-clients.js';

/** Reads `aws-sm:` references (given without the prefix). The value is tracked for redaction. */
export function createAwsRefReader(opts: SecretsManagerClientsOptions = {}): (id: string) => Promise<string> {
  const clientFor = secretsManagerClients(opts);
  return async (id) => {
    const hash = id.indexOf('#');
    const [where, key] = hash >= 0 ? [id.slice(0, hash), id.slice(hash + 1)] : [id, undefined];
    const ref = `aws-sm:${id}`;
    if (!where || key === '') {
      throw new InvalidInputError(`reference ${ref} is malformed`, {
        hint: 'write aws-sm:NAME_OR_ARN, or aws-sm:NAME_OR_ARN#key for one key of a JSON secret',
      });
    }
    const { secretId, region } = parseAwsLocation(where);
    let text: string | undefined;
    try {
      text = (await clientFor(region).send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    } catch (err) {
      if (awsErrorCode(err) === 'ResourceNotFoundException') {
        throw new PermanentError(
          `reference ${ref}: AWS secret ${secretId} does not exist${region ? ` in ${region}` : ''} or has no AWSCURRENT version`,
          {
            hint: 'check the name (and region) in the policy against `aws secretsmanager list-secrets`',
          },
        );
      }
      throw awsError(err, { action: 'secretsmanager:GetSecretValue', resource: secretId });
    }
    if (text === undefined) {
      throw new PermanentError(`reference ${ref}: AWS secret ${secretId} holds binary data; a reference needs a SecretString`, {
        hint: 'store the credential as a string (or a JSON object and name its key with #key)',
      });
    }
    trackSecret(text);
    if (key === undefined) return text;
    return keyOf(text, key, ref, secretId);
  };
}

function keyOf(text: string, key: string, ref: string, secretId: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // The parser's message quotes the text: it is not passed on.
    throw new PermanentError(`reference ${ref}: AWS secret ${secretId} is not JSON, so it has no key ${key}`, {
      hint: `drop #${key} to use the whole value`,
    });
  }
  const value = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>)[key] : undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    const keys = doc !== null && typeof doc === 'object' ? Object.keys(doc).join(', ') : '(none)';
    throw new PermanentError(`reference ${ref}: AWS secret ${secretId} has no string or number at key ${key} (its keys: ${keys})`, {
      hint: 'name one of its keys after #',
    });
  }
  const out = String(value);
  trackSecret(out);
  return out;
}
