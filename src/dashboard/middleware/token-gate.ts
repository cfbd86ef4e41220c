// Checks a presented dashboard token (operator or read) against the tokens accepted for a request:
// in constant time, and with a per-address limit on failures so a token cannot be guessed online.
// The token is compared first and only failures count, so the right token is never refused
// because someone else on the same address (a NAT, a proxy) guessed wrong.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../log.js';

/** A refusal as the dashboard answers it. */
export type Refusal = { status: 401 | 403 | 429; message: string };

/** Which token a request needed. */
export type TokenKind = 'read' | 'operator';
export type RefusalReason = 'missing' | 'wrong' | 'limited';

export interface RefusedAttempt {
  /** Which token was needed (a log field named `token` would be redacted by the logger). */
  kind: TokenKind;
  reason: RefusalReason;
  client: string;
  path: string;
}

export interface TokenGateOptions {
  /** Every refused attempt is logged here (never the token itself). */
  log: Logger;
  /** Called for every refused attempt (e.g. a /metrics counter). */
  onRefused?: ((attempt: RefusedAttempt) => void) | undefined;
  /** Wrong tokens allowed per address per window before it is told to wait. @defaultValue 10 */
  maxFailures?: number;
  /** @defaultValue 5 minutes */
  windowMs?: number;
  now?: () => number;
}

/** Hashed to 32 bytes so the comparison takes the same time whatever the lengths. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export class TokenGate {
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: TokenGateOptions) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** True when `presented` is one of `accepted` (digests); every candidate is compared. */
  static matches(presented: string | undefined, accepted: readonly Buffer[]): boolean {
    if (!presented) return false;
    const digest = tokenDigest(presented);
    let ok = false;
    for (const a of accepted) ok = timingSafeEqual(digest, a) || ok;
    return ok;
  }

  /**
   * Null when `presented` is one of `accepted`. Otherwise a refusal: 429 while the address has
   * too many recent failures, else 401 (and the failure is counted). A missing token is not a
   * guess: refused, logged, not counted against the address.
   */
  check(
    presented: string | undefined,
    accepted: readonly Buffer[],
    attempt: Omit<RefusedAttempt, 'reason'>,
    messages: { missing: string; wrong: string },
  ): Refusal | null {
    if (TokenGate.matches(presented, accepted)) return null;
    if (!presented) return this.refuse({ ...attempt, reason: 'missing' }, { status: 401, message: messages.missing });
    if (this.limited(attempt.client)) {
      return this.refuse(
        { ...attempt, reason: 'limited' },
        { status: 429, message: 'too many wrong tokens from this address; try again in a few minutes' },
      );
    }
    this.fail(attempt.client);
    return this.refuse({ ...attempt, reason: 'wrong' }, { status: 401, message: messages.wrong });
  }

  private refuse(attempt: RefusedAttempt, refusal: Refusal): Refusal {
    this.opts.log.warn(attempt, 'dashboard token refused');
    this.opts.onRefused?.(attempt);
    return refusal;
  }

  private limited(client: string): boolean {
    const f = this.failures.get(client);
    if (f && this.now() - f.since > this.windowMs) this.failures.delete(client);
    return (this.failures.get(client)?.count ?? 0) >= this.maxFailures;
  }

  private fail(client: string): void {
    const current = this.failures.get(client);
    if (this.failures.size > 10_000) this.failures.clear(); // bounded memory under a spray of addresses
    this.failures.set(client, { count: (current?.count ?? 0) + 1, since: current?.since ?? this.now() });
  }
}
