// rotor dashboard: serves the dashboard alone (the state database and queue of a running rotor),
// with its own alert watcher standing by, and serveDashboard, which `rotor start` uses to serve it
// next to the scheduler and workers.
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { InvalidInputError, UnavailableError } from '../errors.js';
import { dashboardSettings, type DashboardSettings } from '../dashboard/config.js';
import type { VersionSource } from '../dashboard/details.js';
import { startDashboard } from '../dashboard/server.js';
import { createMetrics, type RotorMetrics } from '../observe/metrics.js';
import { observeSettings, statusRules } from '../observe/settings.js';
import { startObserve } from '../observe/start.js';
import type { QueueKit } from '../queue/backend.js';
import { openAllStores } from '../store/catalogue.js';
import { openQueue, openState, out, type StateHandle } from './context.js';
import { untilSignal } from './signals.js';

export interface DashboardFlags {
  host?: string | undefined;
  port?: string | undefined;
}

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('serve the dashboard, JSON API and /metrics for a running rotor (127.0.0.1:8080 by default)')
    .option('--host <address>', 'address to bind (default $ROTOR_DASHBOARD_HOST or 127.0.0.1; anything else needs ROTOR_DASHBOARD_TOKEN)')
    .option('--port <n>', 'port (default $ROTOR_DASHBOARD_PORT or 8080; 0 picks a free one)')
    .action(async (flags: DashboardFlags) => {
      const settings = settingsFrom(flags); // before connecting: a refused exposure changes nothing
      const observing = observeSettings();
      const state = await openState();
      try {
        const kit = await openQueue(state);
        try {
          const metrics = createMetrics({ db: state.pool, kit, rules: () => statusRules(observing) });
          const served = await serveDashboard(state, kit, await describeOnlyStores(state), settings, { metrics });
          const observe = await startObserve({ pool: state.pool, log: state.log, settings: observing, linkBase: served.url });
          if (observing.alertWebhookUrl)
            out('alerts:    to the webhook (ROTOR_ALERT_WEBHOOK_URL), from whichever rotor process holds the sender lock');
          await untilSignal();
          await observe.close();
          await served.close();
        } finally {
          await kit.close();
        }
      } finally {
        await state.close();
      }
    });
}

/** Flags over the environment; throws InvalidInputError for a bad port or an unsafe exposure. */
export function settingsFrom(flags: DashboardFlags): DashboardSettings {
  let port: number | undefined;
  if (flags.port !== undefined) {
    port = Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError(`--port ${flags.port} is not a port number`);
  }
  return dashboardSettings(process.env, { host: flags.host, port });
}

export interface ServedDashboard {
  /** Where it listens; undefined when it could not be served. */
  url: string | undefined;
  close(): Promise<void>;
}

/**
 * Starts the server and prints where it listens. With `optional` (rotor start), a port that cannot
 * be bound is reported and rotations go on without a dashboard.
 */
export async function serveDashboard(
  state: StateHandle,
  kit: QueueKit,
  stores: VersionSource,
  settings: DashboardSettings,
  opts: { metrics: RotorMetrics; optional?: boolean },
): Promise<ServedDashboard> {
  let server;
  try {
    server = await startDashboard({ pool: state.pool, kit, log: state.log, stores, settings, metrics: opts.metrics });
  } catch (err) {
    if (!opts.optional || !(err instanceof UnavailableError)) throw err;
    out(`dashboard: not served: ${err.message} (${err.hint}); rotations go on`);
    return { url: undefined, close: async () => undefined };
  }
  const mode = settings.token ? 'emergency rotation needs the operator token' : 'read-only (no ROTOR_DASHBOARD_TOKEN)';
  out(`dashboard: ${server.url}  (${mode}; metrics at /metrics, API at /api)`);
  return { url: server.url, close: () => server.close() };
}

/**
 * The dashboard only lists versions and stages. The local store reads those without the master key,
 * so this process gets a throwaway key: even a bug here could never decrypt a value.
 */
async function describeOnlyStores(state: StateHandle): Promise<VersionSource> {
  return openAllStores({ pool: state.pool, log: state.log, masterKey: randomBytes(32) });
}
