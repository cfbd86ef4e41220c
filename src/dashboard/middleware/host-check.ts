// Answers only to the names this dashboard is reached by: a page from another site that rebinds
// its own DNS name to 127.0.0.1 arrives with that name as Host and gets 421.
import type { MiddlewareHandler } from 'hono';
import { isLoopback, type DashboardSettings } from '../config.js';

export type HostSettings = Pick<DashboardSettings, 'allowedHosts' | 'publicOrigin' | 'host'>;

export function hostAllowed(settings: HostSettings, hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.toLowerCase();
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  if (settings.allowedHosts.length) return settings.allowedHosts.some((h) => h === host || h === name);
  if (settings.publicOrigin && new URL(settings.publicOrigin).host === host) return true;
  return isLoopback(settings.host) ? isLoopback(name) : true;
}

export function hostCheck(settings: HostSettings): MiddlewareHandler {
  return async (c, next) => {
    if (!hostAllowed(settings, c.req.header('host'))) {
      return c.text('unknown Host: this dashboard answers only to the names it is configured for (ROTOR_DASHBOARD_ALLOWED_HOSTS)', 421);
    }
    await next();
  };
}
