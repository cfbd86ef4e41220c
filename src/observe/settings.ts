// Observability settings from the environment: where alerts go, how often the watcher looks,
// and the status rules (due soon, overdue tolerance) that alerts, /metrics and the dashboard share.
import { z } from 'zod';
import { statusThresholds } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { trackSecret } from '../redact.js';
import type { StatusRules } from '../state/status.js';

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
    // The same reader rotor status and the dashboard use (src/config.ts).
    ...statusThresholds(source),
    pollMs: e.ROTOR_ALERT_POLL_MS,
  };
}

/** The status rules of this moment. */
export function statusRules(s: Pick<ObserveSettings, 'dueSoonMs' | 'overdueToleranceMs'>, now: Date = new Date()): StatusRules {
  return { now, dueSoonMs: s.dueSoonMs, overdueToleranceMs: s.overdueToleranceMs };
}
