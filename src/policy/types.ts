// The resolved form of a policy: what the engine, scheduler and plan consume after validation.
import type { Freeze } from './freeze.js';

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** When a secret is due: a fixed interval after the last success, or a cron expression. */
export type Schedule = { kind: 'interval'; ms: number; text: string } | { kind: 'cron'; expression: string; tz: string };

/** Routine rotations start only inside the window. Emergencies ignore it. */
export interface RotationWindow {
  days: Weekday[];
  /** Minutes after midnight, local to tz; end may be smaller than start (a window across midnight). */
  startMinute: number;
  endMinute: number;
  tz: string;
  text: string;
}

export interface RetryPolicy {
  /** Attempts per step before the run ends in needs-attention. @defaultValue 5 */
  attempts: number;
  /** First backoff; doubles each attempt, with full jitter. @defaultValue 5s */
  backoffMs: number;
  /** @defaultValue 5m */
  maxBackoffMs: number;
}

/** What to do when the old credential still has live sessions at revoke time. */
export interface DrainPolicy {
  /** wait: keep waiting up to timeout then roll back; terminate: end the sessions; fail: roll back now. */
  mode: 'wait' | 'terminate' | 'fail';
  timeoutMs: number;
}

export interface ResolvedConsumer {
  /** Stable name for logs and status (`name` in the policy, else `<type>-<index>`). */
  name: string;
  type: string;
  /** Wave number (1 first); a wave is notified only after every consumer of the previous confirmed. */
  wave: number;
  /** Declared cache TTL of the application; plan flags a grace shorter than this. */
  cacheTtlMs: number | undefined;
  /** How long to wait for this consumer's confirmation before rolling back. */
  confirmTimeoutMs: number;
  params: Record<string, unknown>;
}

export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

export interface ResolvedSecret {
  id: string;
  owner: string | undefined;
  className: string | undefined;
  description: string | undefined;
  tags: string[];
  schedule: Schedule;
  graceMs: number;
  emergencyGraceMs: number;
  /** Upper bound of the random delay added to the due time, spreading load. */
  jitterMs: number;
  window: RotationWindow | undefined;
  retry: RetryPolicy;
  drain: DrainPolicy;
  rotator: { name: string; params: Record<string, unknown> };
  store: { backend: string; location: string; params: Record<string, unknown> };
  /** Ordered as in the policy; `wave` groups them. */
  consumers: ResolvedConsumer[];
  source: SourceLocation;
  /** Secrets an incident rotates before this one (`dependsOn:`); validate refuses unknown ids and cycles. */
  dependsOn?: string[];
  /** sha256 of the resolved policy (stable key order): sync uses it to tell what changed. */
  hash: string;
  /** Its file's, its class's and its own freezes; absent when none (src/policy/freeze.ts). */
  freezes?: Freeze[] | undefined;
}
