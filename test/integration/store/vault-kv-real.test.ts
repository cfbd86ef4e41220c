// Opt-in: the vault-kv store contract against a real Vault or OpenBao, when ROTOR_TEST_VAULT_ADDR is
// set (`vault server -dev -dev-root-token-id=root`; ROTOR_TEST_VAULT_ADDR=http://127.0.0.1:8200
// ROTOR_TEST_VAULT_TOKEN=root npx vitest run test/integration/store/vault-kv-real.test.ts). The dev
// server mounts KV version 2 at secret/ (ROTOR_TEST_VAULT_MOUNT for another). CI does not set it.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createVaultClient, errorsOf } from '../../../src/store/vault-kv/client.js';
import { vaultSettings } from '../../../src/store/vault-kv/settings.js';
import { createVaultKvStore } from '../../../src/store/vault-kv/store.js';
import { storeContract } from '../../helpers/store-contract.js';

const addr = process.env.ROTOR_TEST_VAULT_ADDR;
const mount = process.env.ROTOR_TEST_VAULT_MOUNT ?? 'secret';
const env = { VAULT_ADDR: addr, VAULT_TOKEN: process.env.ROTOR_TEST_VAULT_TOKEN ?? 'root' };

describe.runIf(Boolean(addr))('the vault-kv store on a real Vault', () => {
  storeContract({
    name: 'vault-kv (real Vault)',
    store: () => createVaultKvStore({ env }),
    location: async () => `${mount}/rotor-test/${randomUUID()}`,
  });

  it('gets the check-and-set refusal rotor retries on, in the words the store recognises', async () => {
    const client = createVaultClient(vaultSettings(env), silentLogger);
    const path = `${mount}/data/rotor-test/${randomUUID()}`;
    const write = (cas: number) =>
      client.request({ method: 'POST', path, body: { data: { k: 'v' }, options: { cas } }, capabilities: ['create'] });
    expect((await write(0)).status).toBe(200);
    const refused = await write(0);
    expect(refused.status).toBe(400);
    expect(errorsOf(refused)).toMatch(/check-and-set parameter did not match the current version/);
  });
});
