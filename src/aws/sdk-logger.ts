// The logger AWS SDK clients get: lines go to rotor's logger at debug level, with every field that
// can hold a value dropped and every tracked value scrubbed. The SDK already masks the fields its
// models mark sensitive; this is the second line of defence, for fields it does not know.
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { Logger } from '../log.js';
import { isSecretKey, scrub } from '../redact.js';

/** Field names of AWS requests and responses that carry secret values. */
const VALUE_FIELDS = new Set(['SecretString', 'SecretBinary', 'MasterUserPassword', 'Password', 'RandomPassword', 'Plaintext']);
/** Names that look secret (`...Token`) but are ids: the version id rotor chose, a page marker. */
const ID_FIELDS = new Set(['ClientRequestToken', 'NextToken']);

/** A copy of `data` safe to log: value fields replaced, strings scrubbed, depth bounded. */
export function sanitizeForLog(data: unknown, depth = 0): unknown {
  if (typeof data === 'string') return scrub(data);
  if (data === null || typeof data !== 'object') return data;
  if (depth > 6) return '[truncated]';
  if (data instanceof Error) return { name: data.name, message: scrub(data.message) };
  if (Array.isArray(data)) return data.map((d) => sanitizeForLog(d, depth + 1));
  if (data instanceof Uint8Array) return '[bytes]';
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    const secretName = isSecretKey(k) && !ID_FIELDS.has(k) && !/(Id|Arn|Ids|Name)$/.test(k);
    out[k] = VALUE_FIELDS.has(k) || (typeof v === 'string' && secretName) ? '[redacted]' : sanitizeForLog(v, depth + 1);
  }
  return out;
}

/** The SDK's logger interface (the same for every client). */
export type SdkLogger = NonNullable<SecretsManagerClientConfig['logger']>;

/** What to give an SDK client as `logger`. */
export function sdkLogger(log: Logger, service: string): SdkLogger {
  const child = log.child({ aws: service });
  const write =
    (level: 'debug' | 'warn') =>
    (...content: unknown[]) =>
      child[level]({ sdk: sanitizeForLog(content) }, 'aws sdk');
  return { trace: write('debug'), debug: write('debug'), info: write('debug'), warn: write('warn'), error: write('debug') };
}
