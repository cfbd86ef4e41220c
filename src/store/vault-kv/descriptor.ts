// The `vault-kv` store kind, declared once: its policy schema and location; the implementation
// (HTTP to Vault or OpenBao, with the address and login from rotor's environment) loads on demand.
import { z } from 'zod';
import type { StoreDescriptor } from '../contract.js';

/** A KV path: segments of letters, digits and `._-`, separated by single slashes. */
const KV_PATH = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export const vaultKvStoreSchema = z.strictObject({
  backend: z.literal('vault-kv'),
  /** Where the KV version 2 secrets engine is mounted (one path segment). @defaultValue secret */
  mount: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, { error: 'must be the KV mount path, one segment such as secret or kv-prod' })
    .default('secret'),
  /** The secret's path within the mount, as `vault kv get -mount=<mount> <path>` takes it. */
  path: z.string().max(512).regex(KV_PATH, { error: 'must be a KV path such as prod/payments/db (no leading slash, no data/ prefix)' }),
});

const descriptor: StoreDescriptor = {
  backend: 'vault-kv',
  schema: vaultKvStoreSchema,
  location: (params) => `${String(params.mount ?? 'secret')}/${String(params.path)}`,
  // VAULT_ADDR and the login come from rotor's environment, read on first use (docs/vault.md).
  open: async ({ log }) => (await import('./store.js')).createVaultKvStore({ log }),
};

export default descriptor;
