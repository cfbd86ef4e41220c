// Serves the dashboard over HTTP. Used by `rotor dashboard` and `rotor start`; tests start it on
// port 0. Alerts and traces are not its business: src/observe runs them, with or without it.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { UnavailableError } from '../errors.js';
import { createDashboardApp, type DashboardDeps } from './app.js';
import { DEFAULT_LIMITS, limitConnections } from './limits.js';

export interface DashboardServer {
  /** http://host:port, as bound. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startDashboard(opts: DashboardDeps): Promise<DashboardServer> {
  const { app, feed, metrics } = createDashboardApp(opts);
  const { host, port } = opts.settings;
  const limits = opts.settings.limits ?? DEFAULT_LIMITS;
  const server = await new Promise<Server>((resolve, reject) => {
    // Timeouts are checked once a second (Node's default is every 30 s: half-sent requests would linger).
    const serverOptions = {
      connectionsCheckingInterval: 1_000,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
    };
    const s = serve({ fetch: app.fetch, hostname: host, port, serverOptions }, () => resolve(s as Server)) as Server;
    limitConnections(s, limits, (limit) => metrics.dashboardRefusals.inc({ limit }));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new UnavailableError(`the dashboard cannot listen on ${host}:${port}: ${err.code ?? err.message}`, {
          cause: err,
          hint:
            err.code === 'EADDRINUSE'
              ? 'another process uses that port: pick another with --port or ROTOR_DASHBOARD_PORT'
              : 'check --host / ROTOR_DASHBOARD_HOST',
        }),
      ),
    );
  });
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    close() {
      // Idempotent; every part is stopped even if one fails.
      closing ??= (async () => {
        feed.close();
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
