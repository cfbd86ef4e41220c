// Exponential backoff with full jitter: spreads retries of many runs that failed together.
import type { RetryPolicy } from '../policy/types.js';

export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attempt - 1));
  // Never zero, so a failing target is not hammered in a tight loop.
  return Math.max(Math.min(policy.backoffMs, 100), Math.round(random() * ceiling));
}
