// Who may do what: the operator token (compared in constant time), the per-session CSRF token, the
// same-origin checks on every state-changing request, and the Host check against DNS rebinding.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { isLoopback, type DashboardSettings } from './config.js';

export const SESSION_COOKIE = 'rotor_sid';
/** An operator name as recorded in the audit trail: `dashboard:<name>`. */
export const OPERATOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Failed token attempts allowed per client address per window, before it is told to wait. */
const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 5 * 60_000;

export type Refusal = { status: 401 | 403 | 429; message: string };

export class Guard {
  /** Signs session ids into CSRF tokens; new per process, so a restart asks for a page reload. */
  private readonly csrfKey = randomBytes(32);
  private readonly tokenDigest: Buffer | undefined;
  private readonly readDigest: Buffer | undefined;
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly settings: Pick<DashboardSettings, 'token' | 'publicOrigin' | 'allowedHosts' | 'host'> & { readToken?: string | undefined }) {
    this.tokenDigest = settings.token ? sha256(settings.token) : undefined;
    this.readDigest = settings.readToken ? sha256(settings.readToken) : undefined;
  }

  /**
   * With a read token configured, a request must show it, or the operator token: as a Bearer token
   * (the API, Prometheus) or as the password of HTTP Basic (a browser asks once per session).
   * Wrong tokens count against the address like wrong operator tokens.
   */
  checkRead(c: Context, client: string): Refusal | null {
    if (!this.readDigest) return null;
    const presented = bearerToken(c) ?? basicPassword(c);
    if (!presented) return { status: 401, message: 'this dashboard needs its read token: Authorization: Bearer <token>, or any user name and the token as password' };
    const limited = this.limited(client);
    if (limited) return limited;
    if (timingSafeEqual(sha256(presented), this.readDigest) || this.tokenMatches(presented)) return null;
    this.fail(client);
    return { status: 401, message: 'wrong read token' };
  }

  /** True when an operator token is configured: without one, nothing can be done. */
  get actionsEnabled(): boolean {
    return this.tokenDigest !== undefined;
  }

  /** The first check of every action: without a configured token, nothing can be done. */
  checkEnabled(): Refusal | null {
    return this.actionsEnabled ? null : { status: 403, message: 'actions are disabled: no operator token is configured (ROTOR_DASHBOARD_TOKEN)' };
  }

  /** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
  tokenMatches(presented: string | undefined): boolean {
    if (!this.tokenDigest || !presented) return false;
    return timingSafeEqual(sha256(presented), this.tokenDigest);
  }

  /**
   * Checks a presented token, counting failures per client address so the token cannot be
   * guessed online. Returns a refusal, or null when the token is right.
   */
  checkToken(presented: string | undefined, client: string): Refusal | null {
    const disabled = this.checkEnabled();
    if (disabled) return disabled;
    const limited = this.limited(client);
    if (limited) return limited;
    if (this.tokenMatches(presented)) return null;
    this.fail(client);
    return { status: 401, message: 'wrong or missing operator token' };
  }

  private limited(client: string): Refusal | null {
    const f = this.failures.get(client);
    if (f && Date.now() - f.since > FAILURE_WINDOW_MS) this.failures.delete(client);
    const current = this.failures.get(client);
    if (current && current.count >= MAX_FAILURES) {
      return { status: 429, message: 'too many wrong tokens from this address; try again in a few minutes' };
    }
    return null;
  }

  private fail(client: string): void {
    const current = this.failures.get(client);
    if (this.failures.size > 10_000) this.failures.clear(); // bounded memory under a spray of addresses
    this.failures.set(client, { count: (current?.count ?? 0) + 1, since: current?.since ?? Date.now() });
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

  /**
   * Only the names this dashboard is reached by: a page from another site that rebinds its own
   * DNS name to 127.0.0.1 arrives with that name as Host and is refused.
   */
  hostAllowed(hostHeader: string | undefined): boolean {
    if (!hostHeader) return false;
    const host = hostHeader.toLowerCase();
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
    if (this.settings.allowedHosts.length) return this.settings.allowedHosts.some((h) => h === host || h === name);
    if (this.settings.publicOrigin && new URL(this.settings.publicOrigin).host === host) return true;
    return isLoopback(this.settings.host) ? isLoopback(name) : true;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The password of an HTTP Basic Authorization header (the user name is not checked), if any. */
function basicPassword(c: Context): string | undefined {
  const h = c.req.header('authorization');
  const m = h ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h) : null;
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
}

/** The Bearer token of an API request, if any. */
export function bearerToken(c: Context): string | undefined {
  const h = c.req.header('authorization');
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}
