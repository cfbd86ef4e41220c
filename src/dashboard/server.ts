// Serves the dashboard over HTTP and runs its background duties: the alert and trace watcher.
// Used by `rotor dashboard` and `rotor start`; tests start it on port 0.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { UnavailableError } from '../errors.js';
import { webhookSink } from './alerts.js';
import { createDashboardApp, type DashboardDeps } from './app.js';
import { rules } from './app-helpers.js';
import { createRunTracer, tracingConfigured, type RunTracer } from './tracing.js';
import { startWatcher, type Watcher } from './watcher.js';

export interface DashboardServer {
  /** http://host:port, as bound. */
  url: string;
  port: number;
  /** Present when alerts or traces are configured. */
  watcher: Watcher | undefined;
  close(): Promise<void>;
}

export interface DashboardServerOptions extends DashboardDeps {
  /** Replaces the OTLP exporter configured from OTEL_* (tests). */
  tracer?: RunTracer;
}

export async function startDashboard(opts: DashboardServerOptions): Promise<DashboardServer> {
  const { app, feed } = createDashboardApp(opts);
  const { host, port } = opts.settings;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s as Server)) as Server;
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(new UnavailableError(`the dashboard cannot listen on ${host}:${port}: ${err.code ?? err.message}`, {
        cause: err,
        hint: err.code === 'EADDRINUSE' ? 'another process uses that port: pick another with --port or ROTOR_DASHBOARD_PORT' : 'check --host / ROTOR_DASHBOARD_HOST',
      })),
    );
  });
  const bound = (server.address() as AddressInfo).port;
  const tracer = opts.tracer ?? (tracingConfigured() ? createRunTracer() : undefined);
  const linkBase = opts.settings.publicOrigin ?? `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  const alerts = opts.settings.alertWebhookUrl ? webhookSink({ url: opts.settings.alertWebhookUrl, log: opts.log, linkBase }) : undefined;
  // Only a process with something to send competes for the sender's lock: a dashboard without a
  // webhook or an OTLP endpoint must never be elected in place of one that has them.
  const watcher: Watcher | undefined =
    alerts || tracer ? startWatcher({ pool: opts.pool, log: opts.log, everyMs: opts.settings.pollMs, rules: () => rules(opts), alerts, tracer }) : undefined;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    watcher,
    close() {
      // Idempotent; every part is stopped even if one fails.
      closing ??= (async () => {
        feed.close();
        await Promise.allSettled([
          watcher?.close(),
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
        ]);
        await tracer?.close();
      })();
      return closing;
    },
  };
}
