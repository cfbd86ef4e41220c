// Who may act: the operator token (through the token gate: constant time, failures limited per
// address), the per-session CSRF token, and the same-origin checks on every state-changing
// request. Reading is guarded by middleware/read-auth.ts, the Host by middleware/host-check.ts.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { DashboardSettings } from './config.js';
import { tokenDigest, type Refusal, type TokenGate } from './middleware/token-gate.js';

export type { Refusal } from './middleware/token-gate.js';

export const SESSION_COOKIE = 'rotor_sid';
/** An operator name as recorded in the audit trail: `dashboard:<name>`. */
export const OPERATOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export class Guard {
  /** Signs session ids into CSRF tokens; new per process, so a restart asks for a page reload. */
  private readonly csrfKey = randomBytes(32);
  private readonly tokenDigest: Buffer | undefined;

  constructor(
    private readonly settings: Pick<DashboardSettings, 'token' | 'publicOrigin'>,
    /** Shared with the read check, so wrong read and operator tokens count against one limit. */
    readonly gate: TokenGate,
  ) {
    this.tokenDigest = settings.token ? tokenDigest(settings.token) : undefined;
  }

  /** True when an operator token is configured: without one, nothing can be done. */
  get actionsEnabled(): boolean {
    return this.tokenDigest !== undefined;
  }

  /** The first check of every action: without a configured token, nothing can be done. */
  checkEnabled(): Refusal | null {
    return this.actionsEnabled
      ? null
      : { status: 403, message: 'actions are disabled: no operator token is configured (ROTOR_DASHBOARD_TOKEN)' };
  }

  /**
   * Checks a presented operator token through the gate (constant time; only failures count
   * against the address). Returns a refusal, or null when the token is right.
   */
  checkToken(presented: string | undefined, client: string, path: string): Refusal | null {
    const disabled = this.checkEnabled();
    if (disabled || !this.tokenDigest) return disabled;
    const message = 'wrong or missing operator token';
    return this.gate.check(presented, [this.tokenDigest], { kind: 'operator', client, path }, { missing: message, wrong: message });
  }

  /** The session id from the cookie, set on the first visit (HttpOnly, SameSite=Strict). */
  session(c: Context): string {
    const existing = getCookie(c, SESSION_COOKIE);
    if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    const sid = randomBytes(32).toString('base64url');
    setCookie(c, SESSION_COOKIE, sid, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      secure: this.settings.publicOrigin?.startsWith('https:') ?? false,
    });
    return sid;
  }

  csrfToken(sid: string): string {
    return createHmac('sha256', this.csrfKey).update(sid).digest('base64url');
  }

  /** The form's CSRF token must be the one derived from this request's session cookie. */
  checkCsrf(c: Context, presented: string | undefined): Refusal | null {
    const sid = getCookie(c, SESSION_COOKIE);
    if (!sid || !presented) return { status: 403, message: 'missing CSRF token or session: reload the page and try again' };
    const expected = Buffer.from(this.csrfToken(sid));
    const got = Buffer.from(presented);
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      return { status: 403, message: 'the CSRF token does not match this session: reload the page and try again' };
    }
    return null;
  }

  /**
   * Refuses a state-changing request that a browser sent from another site. Browsers send
   * Sec-Fetch-Site and Origin on POST; a client that sends neither (curl) is not a browser and is
   * held to the token (and, for forms, the CSRF token) alone.
   */
  checkSameOrigin(c: Context): Refusal | null {
    const site = c.req.header('sec-fetch-site');
    if (site && site !== 'same-origin') return { status: 403, message: `cross-site request refused (Sec-Fetch-Site: ${site})` };
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== this.expectedOrigin(c)) {
      return { status: 403, message: 'cross-site request refused (Origin does not match this dashboard)' };
    }
    return null;
  }

  private expectedOrigin(c: Context): string {
    if (this.settings.publicOrigin) return this.settings.publicOrigin;
    return `${new URL(c.req.url).protocol}//${c.req.header('host') ?? ''}`;
  }
}
