// Small things the page and API routes share: the status rules of now, HTTP codes for rotor's
// errors, the client's address.
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { AlreadyInProgressError, InvalidInputError, NotFoundError } from '../errors.js';
import type { DashboardDeps } from './app.js';
import type { StatusRules } from '../state/status.js';

export function rules(deps: DashboardDeps): StatusRules {
  return { now: deps.now?.() ?? new Date(), dueSoonMs: deps.settings.dueSoonMs, overdueToleranceMs: deps.settings.overdueToleranceMs };
}

export function errorStatus(err: unknown): 400 | 404 | 409 | 500 {
  if (err instanceof InvalidInputError) return 400;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof AlreadyInProgressError) return 409;
  return 500;
}

/** The peer address (not X-Forwarded-For: that is whatever the client says). */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
