// Observability settings from the environment: where alerts go, how often the watcher looks,
// and the status rules (due soon, overdue tolerance) that alerts, /metrics and the dashboard share.
import { z } from 'zod';
import type { StatusRules } from '../dashboard/inventory.js';
import { InvalidInputError } from '../errors.js';
import { DURATION_EXAMPLES, parseDuration } from '../policy/duration.js';
import { trackSecret } from '../redact.js';

export interface ObserveSettings {
  /** Slack-compatible incoming webhook for alerts (ROTOR_ALERT_WEBHOOK_URL); no alerts when unset. */
  alertWebhookUrl: string | undefined;
  /** The dashboard's public origin (ROTOR_DASHBOARD_ORIGIN), where links in alerts point. */
  publicOrigin: string | undefined;
  /** A secret due within this long is "due soon" (ROTOR_DASHBOARD_DUE_SOON). @defaultValue 7d */
  dueSoonMs: number;
  /** Due for longer than this without success: overdue (ROTOR_OVERDUE_TOLERANCE). @defaultValue 1h */
  overdueToleranceMs: number;
  /** How often the watcher looks for new audit rows and overdue secrets (ROTOR_ALERT_POLL_MS). @defaultValue 1s */
  pollMs: number;
}

const env = z.object({
  ROTOR_ALERT_WEBHOOK_URL: z.url().optional(),
  ROTOR_DASHBOARD_ORIGIN: z.url().optional(),
  ROTOR_DASHBOARD_DUE_SOON: z.string().default('7d'),
  ROTOR_OVERDUE_TOLERANCE: z.string().default('1h'),
  ROTOR_ALERT_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
});

export function observeSettings(source: NodeJS.ProcessEnv = process.env): ObserveSettings {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InvalidInputError(`invalid alerting environment: ${problems}`, { hint: 'see the Alerts section of the README' });
  }
  const e = parsed.data;
  // The webhook URL embeds the chat service's own token: a credential, never logged.
  if (e.ROTOR_ALERT_WEBHOOK_URL) trackSecret(e.ROTOR_ALERT_WEBHOOK_URL);
  return {
    alertWebhookUrl: e.ROTOR_ALERT_WEBHOOK_URL,
    publicOrigin: e.ROTOR_DASHBOARD_ORIGIN?.replace(/\/+$/, ''),
    dueSoonMs: durationOf('ROTOR_DASHBOARD_DUE_SOON', e.ROTOR_DASHBOARD_DUE_SOON),
    overdueToleranceMs: durationOf('ROTOR_OVERDUE_TOLERANCE', e.ROTOR_OVERDUE_TOLERANCE),
    pollMs: e.ROTOR_ALERT_POLL_MS,
  };
}

/** The status rules of this moment. */
export function statusRules(s: Pick<ObserveSettings, 'dueSoonMs' | 'overdueToleranceMs'>, now: Date = new Date()): StatusRules {
  return { now, dueSoonMs: s.dueSoonMs, overdueToleranceMs: s.overdueToleranceMs };
}

function durationOf(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InvalidInputError(`${name}=${text} is not a duration`, { hint: `use ${DURATION_EXAMPLES}` });
  return ms;
}
