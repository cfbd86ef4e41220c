// The consumer types a policy may name (`consumers: [{ type: ... }]`) and their parameters.
// Every type shares the fields in COMMON_CONSUMER_KEYS; the rest are the type's own parameters.
import { z } from 'zod';
import { credentialRef } from '../rotator/params.js';
import { duration, httpUrl, simpleName } from '../policy/fields.js';

/** Fields every consumer has; they are resolved by the policy loader, not passed as params. */
export const COMMON_CONSUMER_KEYS = ['type', 'name', 'wave', 'cacheTtl', 'confirmTimeout'] as const;

const common = {
  /** @defaultValue `<type>-<position>` */
  name: simpleName('consumer name').optional(),
  /** Wave 1 is told first; a wave starts when every consumer of the previous one confirmed. @defaultValue 1 */
  wave: z.number().int().min(1).max(100).optional(),
  /** How long the application may keep using a value it cached; plan compares it with grace. */
  cacheTtl: duration().optional(),
  /** @defaultValue the secret's confirmTimeout */
  confirmTimeout: duration().optional(),
};

export interface ConsumerKind {
  readonly type: string;
  /** Validates one consumer entry, common fields included; unknown fields are errors. */
  readonly schema: z.ZodType<Record<string, unknown>>;
}

const KINDS: ConsumerKind[] = [
  {
    type: 'webhook',
    schema: z.strictObject({
      type: z.literal('webhook'),
      ...common,
      /** Receives a signed POST with ids and the new version id (never the value). */
      url: httpUrl(),
      /** Answers with the version the application uses; without it, a 2xx on url confirms. */
      verify: httpUrl().optional(),
      /** Reference to the HMAC-SHA256 key that signs each request. */
      secret: credentialRef(),
      /** @defaultValue 10s */
      timeout: duration().default('10s'),
      /** Tries per request on network errors, timeouts, 5xx and 429 (never on other 4xx). @defaultValue 3 */
      attempts: z.number().int().min(1).max(10).optional(),
    }),
  },
  {
    type: 'env-file',
    schema: z.strictObject({
      type: z.literal('env-file'),
      ...common,
      /** File written atomically, mode 0600; relative paths start at rotor's working directory. */
      path: z.string().min(1),
      /** Prefix of the variable names: `DB` gives DB_USERNAME, DB_PASSWORD. */
      key: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be a variable name prefix such as DB' }).optional(),
      /** Only `env` (KEY='value' lines) so far. @defaultValue env */
      format: z.enum(['env']).default('env'),
    }),
  },
  {
    type: 'command',
    schema: z.strictObject({
      type: z.literal('command'),
      ...common,
      /** Executable run after each promote (no shell); a non-zero exit fails the consumer. */
      run: z.string().min(1),
      args: z.array(z.string()).default([]),
      /** Pass the value on stdin as JSON; otherwise only ids and the version id. @defaultValue false */
      passValue: z.boolean().default(false),
      /** @defaultValue 60s */
      timeout: duration().default('60s'),
      /** Variables of rotor's environment to pass on besides PATH, HOME, LANG and the like. @defaultValue [] */
      inheritEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })).optional(),
    }),
  },
  {
    type: 'notify',
    schema: z.strictObject({
      type: z.literal('notify'),
      ...common,
      /** Reference to a Slack-compatible incoming webhook URL: the URL itself is a credential. */
      url: credentialRef(),
      channel: z.string().min(1).optional(),
      /** @defaultValue 10s */
      timeout: duration().optional(),
      /** Tries per message on network errors, timeouts, 5xx and 429. @defaultValue 3 */
      attempts: z.number().int().min(1).max(10).optional(),
    }),
  },
];

const BY_TYPE = new Map(KINDS.map((k) => [k.type, k]));

export function consumerKind(type: string): ConsumerKind | undefined {
  return BY_TYPE.get(type);
}

export function knownConsumerTypes(): string[] {
  return [...BY_TYPE.keys()];
}
