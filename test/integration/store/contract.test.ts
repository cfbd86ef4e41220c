// The secret-store contract for every backend: the local store on a real PostgreSQL and the
// aws-secrets-manager store on the Secrets Manager fake run the same checks (test/helpers/store-contract.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe } from 'vitest';
import { createAwsSecretsManagerStore } from '../../../src/store/aws-secrets-manager/store.js';
import { createLocalStore } from '../../../src/store/local/store.js';
import { installAwsFakes } from '../../helpers/aws/install.js';
import { FakeSecretsManager } from '../../helpers/aws/secrets-manager.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { storeContract, type StoreBackend } from '../../helpers/store-contract.js';

let db: TestDatabase;
const fake = new FakeSecretsManager();
let uninstall: () => void;

beforeAll(async () => {
  db = await createTestDatabase('store contract');
  await db.pool.query(readFileSync(new URL('../../../src/state/migrations/0002_local_store.sql', import.meta.url), 'utf8'));
  uninstall = installAwsFakes({ sm: fake });
});
afterAll(async () => {
  uninstall?.();
  await db?.drop();
});

const key = randomBytes(32);
const BACKENDS: StoreBackend[] = [
  {
    name: 'local',
    store: () => createLocalStore({ pool: db.pool, key, keepUnstaged: 100 }),
    location: async () => `contract/${randomUUID()}`,
  },
  {
    name: 'aws-secrets-manager (fake)',
    store: () => createAwsSecretsManagerStore(),
    location: async () => {
      const name = `contract/${randomUUID()}`;
      await fake.createSecret(name);
      return `eu-central-1:${name}`;
    },
  },
];

describe.each(BACKENDS)('the $name store keeps the contract', (backend) => storeContract(backend));
