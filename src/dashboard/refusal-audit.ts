// Audit rows for refused emergency rotations: a wrong or missing operator token on the form or the
// API route leaves a row naming the client address and the secret (never the token), so an
// operator reading `rotor audit` sees someone trying. Rows are budgeted: a spray of requests
// cannot fill the state database, and what the budget drops is still logged and counted.
import type { Logger } from '../log.js';
import { appendAudit } from '../state/audit.js';
import type { Queryable } from '../state/db.js';
import type { RefusedAttempt } from './middleware/token-gate.js';

export const REFUSED_EMERGENCY_ACTION = 'dashboard.emergency-refused';
/** `/secrets/<id>/emergency` (the form) and `/api/secrets/<id>/emergency` (the API). */
const EMERGENCY_PATH = /^(?:\/api)?\/secrets\/(.+)\/emergency$/;

export interface RefusalAuditOptions {
  db: Queryable;
  log: Logger;
  /** Rows written per window at most. @defaultValue 60 */
  budget?: number;
  /** @defaultValue 1 minute */
  windowMs?: number;
  now?: () => number;
}

export class RefusalAudit {
  private windowStart = 0;
  private written = 0;
  private pending = new Set<Promise<void>>();

  constructor(private readonly opts: RefusalAuditOptions) {}

  /** Called for every refused token attempt; writes a row for those on an emergency route. */
  record(attempt: RefusedAttempt): void {
    const m = EMERGENCY_PATH.exec(attempt.path);
    if (attempt.kind !== 'operator' || !m) return;
    let secretId: string;
    try {
      secretId = decodeURIComponent(m[1] as string);
    } catch {
      secretId = m[1] as string;
    }
    const now = (this.opts.now ?? Date.now)();
    if (now - this.windowStart > (this.opts.windowMs ?? 60_000)) {
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written >= (this.opts.budget ?? 60)) return; // the gate's log line still names it
    this.written++;
    const write = appendAudit(this.opts.db, {
      actor: `dashboard:${attempt.client}`,
      action: REFUSED_EMERGENCY_ACTION,
      secretId,
      reason:
        attempt.reason === 'missing'
          ? 'no operator token'
          : attempt.reason === 'wrong'
            ? 'wrong operator token'
            : 'too many wrong tokens from this address',
      detail: { client: attempt.client, path: attempt.path, refusal: attempt.reason },
    })
      .catch((err: unknown) =>
        this.opts.log.warn({ err: (err as Error).message, secretId }, 'audit row for a refused emergency rotation not written'),
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Resolves when every row begun so far is written (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
