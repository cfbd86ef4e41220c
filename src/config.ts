// rotor's own configuration, from environment variables only (credentials never live in policies).
import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { DURATION_EXAMPLES, parseDuration } from './policy/duration.js';
import type { StatusThresholds } from './state/status.js';

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const schema = z.object({
  /** The state database; unset: an embedded PostgreSQL under ROTOR_HOME. */
  ROTOR_DATABASE_URL: z.string().min(1).optional(),
  /** Redis for the queue; unset: BullMQ's PostgreSQL backend on the state database. */
  ROTOR_REDIS_URL: z.string().min(1).optional(),
  ROTOR_POLICIES: z.string().default('policies'),
  ROTOR_HOME: z.string().default('.rotor'),
  ROTOR_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  ROTOR_EMERGENCY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  ROTOR_TICK_MS: ms(30_000),
  ROTOR_LEASE_MS: ms(60_000),
  ROTOR_POLL_MS: ms(2_000),
  ROTOR_LOCK_MS: ms(30_000),
  ROTOR_STALLED_MS: ms(30_000),
  ...policyLimitFields(),
});

/**
 * Limits on what one policy file may make rotor parse (README: Security → Limits). Read apart from
 * the rest (loadPolicyLimits) because `validate` and the policy worker threads need only these.
 */
function policyLimitFields() {
  return {
    /** Bytes in one policy file; larger files are refused unread. */
    ROTOR_POLICY_MAX_FILE_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024),
    /** Nesting of lists and maps; capped at 1,000, beyond which parsing itself could overflow the stack. */
    ROTOR_POLICY_MAX_DEPTH: z.coerce.number().int().min(8).max(1_000).default(64),
    /** Keys in one map (and items in one list). */
    ROTOR_POLICY_MAX_KEYS: z.coerce.number().int().positive().default(100_000),
    /** Secrets in one policy file. */
    ROTOR_POLICY_MAX_SECRETS: z.coerce.number().int().positive().default(50_000),
    /** Bytes a `file:` reference may read. */
    ROTOR_REF_FILE_MAX_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
  };
}

const policyLimitsSchema = z.object(policyLimitFields());
export type PolicyLimitSettings = z.infer<typeof policyLimitsSchema>;

export type RotorConfig = z.infer<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RotorConfig {
  return parseSettings(schema, env);
}

export function loadPolicyLimits(env: NodeJS.ProcessEnv = process.env): PolicyLimitSettings {
  return parseSettings(policyLimitsSchema, env);
}

function parseSettings<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InvalidInputError(`invalid environment: ${problems}`, { hint: 'see the Configuration section of the README' });
  }
  return parsed.data;
}

/**
 * The rules of a secret's status, read by `rotor status`, the dashboard, the API and /metrics
 * alike, so they all give a secret the same word.
 */
export function statusThresholds(env: NodeJS.ProcessEnv = process.env): StatusThresholds {
  return {
    dueSoonMs: durationOf('ROTOR_DASHBOARD_DUE_SOON', env.ROTOR_DASHBOARD_DUE_SOON, '7d'),
    overdueToleranceMs: durationOf('ROTOR_OVERDUE_TOLERANCE', env.ROTOR_OVERDUE_TOLERANCE, '1h'),
  };
}

function durationOf(name: string, text: string | undefined, fallback: string): number {
  const ms = parseDuration(text ?? fallback);
  if (ms === undefined) throw new InvalidInputError(`${name}=${text} is not a duration`, { hint: `use ${DURATION_EXAMPLES}` });
  return ms;
}
