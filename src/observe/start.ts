// Starts what watches a running rotor, in every process that runs one (`rotor start` with or
// without the dashboard, `rotor worker`, `rotor dashboard`): the alert and trace watcher. The
// watcher's leader lock makes one process the sender; the others stand by to take over.
import type pg from 'pg';
import type { Logger } from '../log.js';
import { webhookSink, type AlertSink } from './alerts.js';
import { statusRules, type ObserveSettings } from './settings.js';
import { createRunTracer, tracingConfigured, type RunTracer } from './tracing.js';
import { startWatcher, type Watcher } from './watcher.js';

export interface ObserveOptions {
  pool: pg.Pool;
  log: Logger;
  settings: ObserveSettings;
  /** Where links in alerts point when ROTOR_DASHBOARD_ORIGIN is unset (the dashboard this process serves). */
  linkBase?: string | undefined;
  /** Replaces the webhook sink configured from ROTOR_ALERT_WEBHOOK_URL (tests). */
  alerts?: AlertSink | undefined;
  /** Replaces the OTLP exporter configured from OTEL_* (tests). */
  tracer?: RunTracer | undefined;
  now?: () => Date;
}

export interface Observe {
  /** Present when alerts or traces are configured. */
  watcher: Watcher | undefined;
  /** Idempotent; stops the watcher, then flushes and closes the tracer. */
  close(): Promise<void>;
}

/**
 * Resolves after the watcher's first pass, so a process started before its runtime is already
 * the sender (or knows it is not) when the first run can fail: on a fresh database, the first
 * sender starts from the end of the audit trail, and a failure before that would not be news.
 */
export async function startObserve(opts: ObserveOptions): Promise<Observe> {
  const { settings, log } = opts;
  const tracer = opts.tracer ?? (tracingConfigured() ? createRunTracer() : undefined);
  const linkBase = settings.publicOrigin ?? opts.linkBase;
  const alerts = opts.alerts ?? (settings.alertWebhookUrl ? webhookSink({ url: settings.alertWebhookUrl, log, linkBase }) : undefined);
  // Only a process with something to send competes for the sender's lock: one without a webhook
  // or an OTLP endpoint must never be elected in place of one that has them.
  const watcher =
    alerts || tracer
      ? startWatcher({ pool: opts.pool, log, everyMs: settings.pollMs, rules: () => statusRules(settings, opts.now?.()), alerts, tracer })
      : undefined;
  await watcher?.poll();
  let closing: Promise<void> | undefined;
  return {
    watcher,
    close() {
      closing ??= (async () => {
        await watcher?.close().catch(() => undefined);
        await tracer?.close();
      })();
      return closing;
    },
  };
}
