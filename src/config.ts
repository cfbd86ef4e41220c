// rotor's own configuration, from environment variables only (credentials never live in policies).
import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { DURATION_EXAMPLES, parseDuration } from './policy/duration.js';
import type { StatusThresholds } from './state/status.js';

const ms = (fallback: number) =>
  z.coerce.number().int().positive().default(fallback);

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
});

export type RotorConfig = z.infer<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RotorConfig {
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
