// The demo consumer app as a process of its own:
//   npx tsx examples/consumer-app/main.ts [--secret demo/app-db] [--port 7790] [--host 127.0.0.1]
// It reads the local store on rotor's state database (ROTOR_DATABASE_URL, else the embedded rotor
// running under ROTOR_HOME) with the master key (ROTOR_MASTER_KEY, else ROTOR_HOME/master.key),
// and checks webhooks with the key in the environment variable named by --key-env.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { embeddedUrl } from '../../src/embedded/postgres.js';
import { createLogger } from '../../src/log.js';
import { checkStateDatabase, createStatePool } from '../../src/state/db.js';
import { createLocalStore } from '../../src/store/local/store.js';
import { keyFileIn, loadMasterKey } from '../../src/store/master-key.js';
import { createConsumerApp } from './app.js';

const { values } = parseArgs({
  options: {
    secret: { type: 'string', default: 'demo/app-db' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '7790' },
    'key-env': { type: 'string', default: 'ROTOR_DEMO_WEBHOOK_KEY' },
  },
});

const log = createLogger().child({ component: 'consumer-app' });
const keyEnv = values['key-env'];
const webhookKey = process.env[keyEnv];
if (!webhookKey) {
  console.error(
    `consumer-app: ${keyEnv} is not set; it must hold the key of the webhook consumer's \`secret\` reference (the same value rotor reads)`,
  );
  process.exit(2);
}

const config = loadConfig();
const url = config.ROTOR_DATABASE_URL ?? (await embeddedUrl(config.ROTOR_HOME, 'rotor'));
// The app reads the store only: two connections are plenty.
const statePool = createStatePool({ url, max: 2, applicationName: 'consumer-app' });
await checkStateDatabase(statePool, url);
const key = await loadMasterKey({ env: process.env, keyFile: keyFileIn(config.ROTOR_HOME) });

const app = await createConsumerApp({
  secretId: values.secret,
  store: createLocalStore({ pool: statePool, key }),
  webhookKey,
  host: values.host,
  port: Number(values.port),
  log,
});
console.log(`consumer-app: ${app.url} uses ${values.secret} (version ${app.version() ?? 'none yet'}); Ctrl-C stops it`);

const stop = async () => {
  await app.close();
  await statePool.end();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
