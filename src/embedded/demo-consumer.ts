// The embedded demo's application: `npm start` runs examples/consumer-app next to rotor, so each
// rotation of demo/app-db is seen end to end: signed webhook, reload from the store, old pool
// drained, version confirmed, old password revoked.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { ResolvedSecret } from '../policy/types.js';
import { createStatePool } from '../state/db.js';
import { createLocalStore } from '../store/local/store.js';
import { keyFileIn, loadMasterKey } from '../store/master-key.js';

/** The demo secret the app uses; its webhook consumer's URL says where the app listens. */
export const DEMO_APP_SECRET = 'demo/app-db';
/** The variable policies/demo/demo.yaml names as the webhook's key (`secret: env:...`). */
export const DEMO_WEBHOOK_KEY_ENV = 'ROTOR_DEMO_WEBHOOK_KEY';

/**
 * Sets the demo's webhook key unless the operator set one (to run the app as its own process with
 * examples/consumer-app/main.ts, export the same value to both). A fresh key each start is fine:
 * rotor and the in-process app read it from the same environment.
 */
export function ensureDemoWebhookKey(env: NodeJS.ProcessEnv = process.env): void {
  env[DEMO_WEBHOOK_KEY_ENV] ??= randomBytes(32).toString('base64url');
}

export interface DemoConsumerOptions {
  secrets: ResolvedSecret[];
  /** The state database: the app reads the local store there, on a pool of its own. */
  stateUrl: string;
  rotorHome: string;
  log: Logger;
}

/**
 * Starts the consumer app when the loaded policies hold the demo secret with a webhook consumer on
 * this machine; returns its stop function (a no-op otherwise). A failure to start is logged, not
 * thrown: rotor runs on, and the demo secret's rotations roll back, naming the consumer.
 */
export async function startDemoConsumer(opts: DemoConsumerOptions): Promise<() => Promise<void>> {
  const none = async () => undefined;
  const secret = opts.secrets.find((s) => s.id === DEMO_APP_SECRET);
  const hook = secret?.consumers.find((c) => c.type === 'webhook');
  const target = typeof hook?.params.url === 'string' ? new URL(hook.params.url) : undefined;
  if (!secret || !target || !['127.0.0.1', 'localhost'].includes(target.hostname)) return none;
  const webhookKey = process.env[DEMO_WEBHOOK_KEY_ENV];
  if (!webhookKey) return none;
  const log = opts.log.child({ component: 'demo-app' });
  const pool = createStatePool({ url: opts.stateUrl, max: 2, applicationName: 'rotor-demo-app' });
  try {
    // Imported here: the container image ships without examples/, and only the demo needs them.
    const { createConsumerApp } = await import('../../examples/consumer-app/app.js');
    const key = await loadMasterKey({ env: process.env, keyFile: keyFileIn(opts.rotorHome) });
    const app = await createConsumerApp({
      secretId: secret.id,
      store: createLocalStore({ pool, key }),
      location: secret.store.location,
      webhookKey,
      host: target.hostname,
      port: Number(target.port || 80),
      log,
    });
    log.info(
      { url: app.url, secretId: secret.id, version: app.version() },
      `demo app listening: ${app.url}/healthz runs select 1 with ${secret.id}`,
    );
    return async () => {
      await app.close();
      await pool.end();
    };
  } catch (err) {
    await pool.end().catch(() => undefined);
    log.error(
      { err: (err as Error).message, hint: `free port ${target.port} or change the webhook URL of ${secret.id} in ${secret.source.file}` },
      `the demo app did not start; rotations of ${secret.id} will roll back until it answers`,
    );
    return none;
  }
}
