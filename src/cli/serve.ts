// rotor start (migrate, sync policies, scheduler, workers, alerts; the dashboard unless
// --no-dashboard) and rotor worker (workers and alerts, for scale-out on more machines). Both stop
// gracefully on SIGINT and SIGTERM.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidInputError } from '../errors.js';
import { loadPolicies } from '../policy/load.js';
import { nextDue } from '../policy/schedule.js';
import { loadRotators, targetKeyOf } from '../rotator/catalogue.js';
import { startRuntime } from '../runtime.js';
import { rotatorsInUse, syncSecrets } from '../state/secrets.js';
import { formatProblems } from '../policy/format.js';
import { DEMO_ADMIN_URL_ENV, namesDemo, setUpDemo } from '../embedded/demo.js';
import { DEMO_WEBHOOK_KEY_ENV, ensureDemoWebhookKey, startDemoConsumer } from '../embedded/demo-consumer.js';
import { openQueue, openState, openStores, out, secretRefResolver, type StateHandle } from './context.js';
import { serveDashboard, settingsFrom } from './dashboard.js';
import type { DashboardSettings } from '../dashboard/config.js';
import { createMetrics } from '../observe/metrics.js';
import { observeSettings, statusRules } from '../observe/settings.js';
import { startObserve } from '../observe/start.js';
import { keyFileIn } from '../store/master-key.js';
import { untilSignal } from './signals.js';
import { sdkNodeWarning } from '../aws/node-version-warning.js';

export function register(program: Command): void {
  program
    .command('start')
    .description('migrate, sync the policies, and run the scheduler and workers (embedded PostgreSQL when ROTOR_DATABASE_URL is unset)')
    .option('--policies <dir>', 'policy directory (default $ROTOR_POLICIES or policies/)')
    .option('--dashboard-host <address>', 'dashboard address (default $ROTOR_DASHBOARD_HOST or 127.0.0.1)')
    .option('--dashboard-port <n>', 'dashboard port (default $ROTOR_DASHBOARD_PORT or 8080)')
    .option('--no-dashboard', 'do not serve the dashboard')
    .action(async (opts: { policies?: string; dashboard: boolean; dashboardHost?: string; dashboardPort?: string }) =>
      serve({
        scheduler: true,
        policies: opts.policies,
        dashboard: opts.dashboard ? settingsFrom({ host: opts.dashboardHost, port: opts.dashboardPort }) : undefined,
      }),
    );
  program
    .command('worker')
    .description('run workers only (no scheduler, no sync), to scale out on more machines')
    .action(async () => serve({ scheduler: false }));
}

async function serve(opts: {
  scheduler: boolean;
  policies?: string | undefined;
  dashboard?: DashboardSettings | undefined;
}): Promise<void> {
  const observing = observeSettings(); // before starting anything: a bad setting changes nothing
  const state = await openState({ startEmbedded: opts.scheduler, migrate: true });
  const { config, log } = state;
  const stops: Array<() => Promise<void>> = [() => state.close()];
  try {
    let names: string[];
    if (opts.scheduler) {
      const dir = resolve(opts.policies ?? config.ROTOR_POLICIES);
      const loaded = await loadPolicies(dir);
      if (loaded.problems.length) {
        throw new InvalidInputError(`the policies in ${dir} have problems; nothing was started\n${formatProblems(loaded.problems)}`, {
          hint: `fix them, then check with: rotor validate ${dir}`,
        });
      }
      // The demo database, roles and webhook key exist only for policies that name them.
      if (state.embedded && namesDemo(loaded.secrets, DEMO_ADMIN_URL_ENV))
        process.env[DEMO_ADMIN_URL_ENV] ??= await setUpDemo(state.embedded, log);
      if (state.embedded && namesDemo(loaded.secrets, DEMO_WEBHOOK_KEY_ENV)) ensureDemoWebhookKey();
      const diff = await syncSecrets(state.pool, loaded.secrets, {
        actor: 'sync',
        targetKeyOf,
        nextDueOf: (s, last) => nextDue({ secret: s, lastSuccessAt: last, now: new Date() }),
      });
      out(
        `policies: ${loaded.secrets.length} secrets from ${dir} (added ${diff.added.length}, changed ${diff.changed.length}, retired ${diff.retired.length})`,
      );
      names = [...new Set(loaded.secrets.map((s) => s.rotator.name))];
      // Before the workers start, so the first rotation of the demo secret finds its app listening.
      if (state.embedded)
        stops.unshift(await startDemoConsumer({ secrets: loaded.secrets, stateUrl: state.url, rotorHome: config.ROTOR_HOME, log }));
    } else {
      names = await rotatorsInUse(state.pool);
    }
    await loadRotators(names);
    const { stores, keySource } = await openStores(state);
    const kit = await openQueue(state);
    stops.unshift(() => kit.close());
    let dashboardUrl: string | undefined;
    if (opts.dashboard) {
      const metrics = createMetrics({ db: state.pool, kit, rules: () => statusRules(observing) });
      // Policy files shown relative to the directory synced here (--policies over ROTOR_POLICIES).
      const settings = opts.policies ? { ...opts.dashboard, policyRoot: resolve(opts.policies) } : opts.dashboard;
      const served = await serveDashboard(state, kit, stores, settings, { metrics, optional: true });
      stops.unshift(() => served.close());
      dashboardUrl = served.url;
    }
    // With or without the dashboard: alerting must never depend on a page being served.
    // Before the workers: a run that fails at once is alerted too (see startObserve).
    const observe = await startObserve({ pool: state.pool, log, settings: observing, linkBase: dashboardUrl });
    stops.unshift(() => observe.close());
    const runtime = await startRuntime({
      pool: state.pool,
      kit,
      log,
      stores,
      resolveRef: secretRefResolver(log),
      nextDue: (secret, last) => nextDue({ secret, lastSuccessAt: last, now: new Date() }),
      concurrency: config.ROTOR_WORKER_CONCURRENCY,
      emergencyConcurrency: config.ROTOR_EMERGENCY_CONCURRENCY,
      lockMs: config.ROTOR_LOCK_MS,
      stalledMs: config.ROTOR_STALLED_MS,
      leaseMs: config.ROTOR_LEASE_MS,
      pollMs: config.ROTOR_POLL_MS,
      // The same tolerance rotor status and the dashboard read, so all three call a secret overdue alike.
      scheduler: opts.scheduler ? { everyMs: config.ROTOR_TICK_MS, overdueToleranceMs: observing.overdueToleranceMs } : undefined,
    });
    stops.unshift(() => runtime.close());
    describeStart(state, kit.kind, opts.scheduler, keySource, observing.alertWebhookUrl !== undefined);
    await untilSignal();
    out('stopping: waiting for active steps to finish (a second signal stops at once)');
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
  }
}

function describeStart(state: StateHandle, queue: string, scheduler: boolean, keySource: string, alerting: boolean): void {
  const { config } = state;
  out(
    `state:     ${state.embedded ? `embedded PostgreSQL in ${resolve(config.ROTOR_HOME, 'pg')} (port ${state.embedded.info.port})` : 'ROTOR_DATABASE_URL'}`,
  );
  out(`queue:     ${queue === 'redis' ? 'Redis (ROTOR_REDIS_URL)' : 'BullMQ PostgreSQL backend on the state database'}`);
  out(
    `store:     local, AES-256-GCM, key from ${keySource === 'env' ? 'ROTOR_MASTER_KEY' : resolve(keyFileIn(config.ROTOR_HOME))}; aws-secrets-manager through the AWS SDK default chain`,
  );
  out(
    `workers:   ${config.ROTOR_WORKER_CONCURRENCY} routine, ${config.ROTOR_EMERGENCY_CONCURRENCY} emergency${scheduler ? `; scheduler tick every ${config.ROTOR_TICK_MS / 1000}s` : ''}`,
  );
  out(
    `alerts:    ${alerting ? 'to the webhook (ROTOR_ALERT_WEBHOOK_URL), from whichever rotor process holds the sender lock' : 'off (no ROTOR_ALERT_WEBHOOK_URL)'}`,
  );
  const sdkWarning = sdkNodeWarning();
  if (sdkWarning) state.log.warn(sdkWarning);
  out('rotor is running; Ctrl-C stops it');
}
