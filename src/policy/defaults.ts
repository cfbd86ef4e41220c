// Every default a policy may leave out, in one place; docs/policy-reference.md lists the same.
import type { DrainPolicy, RetryPolicy } from './types.js';

export const DEFAULTS = {
  /** A secret with no cadence in its class or itself rotates every 90 days. */
  cadenceText: '90d',
  cadenceMs: 90 * 86_400_000,
  /** Grace: 1h, but at most half the cadence, so short demo cadences need no grace of their own. */
  graceMs: 3_600_000,
  /** Emergency grace: 5m, at most the grace. */
  emergencyGraceMs: 300_000,
  jitterMs: 0,
  retry: { attempts: 5, backoffMs: 5_000, maxBackoffMs: 300_000 } satisfies RetryPolicy,
  drain: { mode: 'wait', timeoutMs: 30 * 60_000 } satisfies DrainPolicy,
  confirmTimeoutMs: 15 * 60_000,
  wave: 1,
  tz: 'UTC',
} as const;
