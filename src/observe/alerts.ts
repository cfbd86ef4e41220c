// Alerts to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, Teams workflows):
// a secret needs attention, a secret became overdue, an emergency rotation was requested.
import type { Logger } from '../log.js';
import { escapeMrkdwn as esc, postSlackMessage } from '../net/slack.js';
import { scrub } from '../redact.js';

export type AlertKind = 'needs-attention' | 'overdue' | 'emergency' | 'incident' | 'manual-due';

export interface Alert {
  kind: AlertKind;
  secretId: string;
  runId?: string | null | undefined;
  actor?: string | null | undefined;
  reason?: string | null | undefined;
  /** An incident's alerts: which one, and what happened (started, abort asked for, ended with its counts). */
  incidentId?: string | undefined;
  summary?: string | undefined;
}

export interface AlertSink {
  send(alerts: Alert[]): Promise<void>;
}

export interface WebhookOptions {
  url: string;
  log: Logger;
  /** Where links in messages point (the dashboard's public origin); no links when unset. */
  linkBase?: string | undefined;
  /** @defaultValue 3 */
  attempts?: number;
  /** @defaultValue 5000 */
  timeoutMs?: number;
  /** A burst of one kind (the scheduler stopped: everything overdue at once) becomes one message past this many. @defaultValue 5 */
  burst?: number;
}

const TITLE: Record<AlertKind, string> = {
  'needs-attention': ':rotating_light: needs attention',
  overdue: ':hourglass: overdue',
  emergency: ':fire: emergency rotation requested',
  incident: ':fire: incident',
  'manual-due': ':bell: due, to rotate by hand',
};

export function formatAlert(a: Alert, linkBase?: string): string {
  if (a.kind === 'incident') {
    const why = a.reason ? `: ${esc(scrub(a.reason).slice(0, 500))}` : '';
    return `rotor ${TITLE.incident} ${esc(a.incidentId ?? '')} ${esc(a.summary ?? '')}${a.actor ? ` by ${esc(a.actor)}` : ''}${why}`;
  }
  const secret = linkBase ? `<${linkBase}/secrets/${a.secretId}|${esc(a.secretId)}>` : esc(a.secretId);
  const run = a.runId ? (linkBase ? ` run <${linkBase}/runs/${a.runId}|${a.runId.slice(0, 8)}>` : ` run ${a.runId}`) : '';
  const reason = a.reason ? `: ${esc(scrub(a.reason).slice(0, 500))}` : '';
  const by = a.actor ? ` by ${esc(a.actor)}` : '';
  return `rotor ${TITLE[a.kind]}: *${secret}*${run}${by}${reason}`;
}

/** Groups a poll's alerts into messages: one each, or one summary per kind in a burst. */
export function messagesFor(alerts: Alert[], burst: number, linkBase?: string): string[] {
  const out: string[] = [];
  for (const kind of Object.keys(TITLE) as AlertKind[]) {
    const of = alerts.filter((a) => a.kind === kind);
    if (of.length <= burst || kind === 'incident') out.push(...of.map((a) => formatAlert(a, linkBase)));
    else {
      const ids = of
        .slice(0, 20)
        .map((a) => esc(a.secretId))
        .join(', ');
      out.push(
        `rotor ${TITLE[kind]}: ${of.length} secrets: ${ids}${of.length > 20 ? `, and ${of.length - 20} more` : ''}${linkBase ? ` (<${linkBase}/?status=${kind}|inventory>)` : ''}`,
      );
    }
  }
  return out;
}

export function webhookSink(opts: WebhookOptions): AlertSink {
  const timeoutMs = opts.timeoutMs ?? 5000;
  async function post(text: string): Promise<void> {
    try {
      // Retries network errors, 5xx and 429 with backoff; never follows a redirect.
      await postSlackMessage(
        opts.url,
        { text },
        { label: 'alert webhook', timeoutMs, attempts: opts.attempts ?? 3, signal: AbortSignal.timeout(timeoutMs * 4) },
      );
    } catch (err) {
      // Never the URL: an incoming-webhook URL is itself a credential.
      opts.log.warn({ err: scrub((err as Error).message) }, 'alert webhook failed; the alert is dropped');
    }
  }
  return {
    async send(alerts) {
      for (const text of messagesFor(alerts, opts.burst ?? 5, opts.linkBase)) await post(text);
    },
  };
}
