// The dashboard's settings, from the environment and CLI flags, and the start-up rule that keeps an
// unauthenticated dashboard off the network.
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { statusThresholds } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { observeSettings } from '../observe/settings.js';
import { dashboardLimits, type DashboardLimits } from './limits.js';
import { trackSecret } from '../redact.js';
import type { StatusThresholds } from '../state/status.js';

/** Shorter operator tokens are refused at start-up: they could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/** With the status rules, shared with `rotor status` (statusThresholds in src/config.ts). */
export interface DashboardSettings extends StatusThresholds {
  /** @defaultValue '127.0.0.1' */
  host: string;
  /** 0 picks a free port. @defaultValue 8080 */
  port: number;
  /** The operator token (ROTOR_DASHBOARD_TOKEN); unset: everything is visible, nothing can be done. */
  token: string | undefined;
  /**
   * The read token (ROTOR_DASHBOARD_READ_TOKEN): when set, every page, the API, /events and
   * /metrics ask for it (or the operator token) as a Bearer token or a Basic password; /healthz
   * stays open. Unset: reading needs nothing (fine on loopback, or behind an authenticating proxy).
   */
  readToken: string | undefined;
  /**
   * The origin browsers see (https://rotor.example.com behind a proxy). Cross-site checks compare
   * Origin against it; unset, against the Host the request came to.
   */
  publicOrigin: string | undefined;
  /** Host headers accepted; empty: any. On loopback the default is the loopback names (DNS rebinding). */
  allowedHosts: string[];
  pollMs: number;
  /**
   * The policy directory (ROTOR_POLICIES, or `rotor start --policies`): pages show policy files
   * relative to it. @defaultValue policies, from the working directory
   */
  policyRoot?: string | undefined;
  /** Timeouts and caps on what clients hold open (ROTOR_DASHBOARD_* in limits.ts); defaults when absent. */
  limits?: DashboardLimits | undefined;
}

const env = z.object({
  ROTOR_DASHBOARD_HOST: z.string().min(1).default('127.0.0.1'),
  ROTOR_DASHBOARD_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  ROTOR_DASHBOARD_TOKEN: z.string().optional(),
  ROTOR_DASHBOARD_READ_TOKEN: z.string().optional(),
  ROTOR_DASHBOARD_ALLOWED_HOSTS: z.string().optional(),
  ROTOR_DASHBOARD_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  ROTOR_POLICIES: z.string().min(1).default('policies'),
});

export function dashboardSettings(
  source: NodeJS.ProcessEnv = process.env,
  flags: { host?: string | undefined; port?: number | undefined } = {},
): DashboardSettings {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InvalidInputError(`invalid dashboard environment: ${problems}`, { hint: 'see the Dashboard section of the README' });
  }
  const e = parsed.data;
  // The origin and the status rules are shared with alerts and /metrics: one parser for them.
  const shared = observeSettings(source);
  const token = e.ROTOR_DASHBOARD_TOKEN?.trim() || undefined;
  const readToken = e.ROTOR_DASHBOARD_READ_TOKEN?.trim() || undefined;
  // The tokens are credentials: never logged.
  if (token) trackSecret(token);
  if (readToken) trackSecret(readToken);
  const settings: DashboardSettings = {
    host: flags.host ?? e.ROTOR_DASHBOARD_HOST,
    port: flags.port ?? e.ROTOR_DASHBOARD_PORT,
    token,
    readToken,
    publicOrigin: shared.publicOrigin,
    allowedHosts: (e.ROTOR_DASHBOARD_ALLOWED_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    ...statusThresholds(source),
    pollMs: e.ROTOR_DASHBOARD_POLL_MS,
    policyRoot: resolve(e.ROTOR_POLICIES),
    limits: dashboardLimits(source),
  };
  checkExposure(settings);
  return settings;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/**
 * Anything but loopback needs a token: an open dashboard on the network would let anyone start
 * emergency rotations (or, without a token, at least read the whole inventory).
 */
export function checkExposure(
  s: Pick<DashboardSettings, 'host' | 'token'> & {
    readToken?: string | undefined;
    allowedHosts?: readonly string[];
    publicOrigin?: string | undefined;
  },
): void {
  for (const [name, value] of [
    ['ROTOR_DASHBOARD_TOKEN', s.token],
    ['ROTOR_DASHBOARD_READ_TOKEN', s.readToken],
  ] as const) {
    if (value !== undefined && value.length < MIN_TOKEN_LENGTH) {
      throw new InvalidInputError(`${name} is ${value.length} characters; it must be at least ${MIN_TOKEN_LENGTH}`, {
        hint: 'generate one with: openssl rand -base64 32',
      });
    }
  }
  if (s.token !== undefined && s.token === s.readToken) {
    throw new InvalidInputError('ROTOR_DASHBOARD_READ_TOKEN is the operator token; whoever may only read would be able to rotate', {
      hint: 'give readers a token of their own (openssl rand -base64 32)',
    });
  }
  if (!isLoopback(s.host) && !s.token) {
    throw new InvalidInputError(`refusing to serve the dashboard on ${s.host} without an operator token`, {
      hint: 'set ROTOR_DASHBOARD_TOKEN (openssl rand -base64 32), or bind to 127.0.0.1 and reach it through an SSH tunnel or an authenticating proxy',
    });
  }
  // Beyond loopback any name may point at this address (DNS rebinding): only names the operator
  // lists are answered, so the bind must come with them.
  if (!isLoopback(s.host) && !s.allowedHosts?.length && !s.publicOrigin) {
    throw new InvalidInputError(`refusing to serve the dashboard on ${s.host} without ROTOR_DASHBOARD_ALLOWED_HOSTS`, {
      hint: 'set ROTOR_DASHBOARD_ALLOWED_HOSTS to the host names clients use (comma-separated, e.g. rotor.internal), or ROTOR_DASHBOARD_ORIGIN behind a proxy',
    });
  }
}
